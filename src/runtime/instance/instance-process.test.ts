import { tmpdir } from 'node:os'
import { describe, expect, it } from 'vitest'
import { type InstanceOptions, InstanceProcess } from './instance-process.ts'
import type { InstanceEnv } from './protocol.ts'

/** An instance whose process is `node -e program`, collecting what it writes to stderr. */
function spawnInstance(program: string, lines: string[]): InstanceProcess {
  const options: InstanceOptions = {
    label: 'loud#1',
    env: { nodeId: 'loud-1' } as InstanceEnv,
    program: '',
    nodeArgs: [],
    cwd: tmpdir(),
    extraEnv: {},
    pingIntervalMs: 1000,
    pingTimeoutMs: 5000,
    readyTimeoutMs: 10_000,
    stopTimeoutMs: 1000,
    onLine: (_label, line, stream) => {
      if (stream === 'stderr') lines.push(line)
    },
    command: { file: process.execPath, args: ['-e', program], env: process.env },
  }
  return new InstanceProcess(options)
}

/** A program that leaves a shell behind, holding its stderr, which writes `line` after `seconds`, then exits 3. */
const leavesWriter = (seconds: number, line: string) =>
  `require('node:child_process').spawn('sh', ['-c', 'sleep ${seconds}; echo ${line} >&2'], { stdio: ['ignore', 'ignore', 'inherit'], detached: true }).unref(); process.exitCode = 3`

describe('InstanceProcess', () => {
  // The pipes of an exited process can still hold lines: its own last ones (the exit is
  // seen before they are read now and then) or, as here, those of a process it left
  // behind. A crash's last words must reach the log before the exit is reported.
  it('reports an exit after the lines still in its pipes were read', async () => {
    const lines: string[] = []
    const exited = await spawnInstance(leavesWriter(0.05, 'last-words'), lines).exited
    expect(exited).toMatchObject({ type: 'exited', code: 3, planned: false })
    expect(lines).toEqual(['last-words'])
  })

  it('does not wait for a left-behind process that keeps the pipes open', async () => {
    const lines: string[] = []
    const exited = await spawnInstance(leavesWriter(3, 'much-later'), lines).exited
    expect(exited).toMatchObject({ type: 'exited', code: 3 })
    expect(lines).toEqual([])
  })
})
