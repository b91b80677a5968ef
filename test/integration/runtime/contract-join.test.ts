import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { createAuthority } from '../../../src/identity/index.ts'
import {
  type ContractMismatch,
  controlClient,
  type RunningSystem,
  type SupervisorEvent,
  startSystem,
} from '../../../src/runtime/index.ts'
import { until } from './support.ts'

// An instance of a new version of `users` joins a running system without a deploy: a
// real process started by hand with a credential of the system's authority (as another
// host's agent would have). The runtime must say so with the diff; a compatible one is
// not reported.
const bin = fileURLToPath(new URL('../../../bin/tessera.mjs', import.meta.url))
const joinerEntry = fileURLToPath(new URL('./fixtures/contract-joiner.ts', import.meta.url))
const configFile = fileURLToPath(new URL('./fixtures/tessera.config.ts', import.meta.url))

function startJoiner(
  running: RunningSystem,
  authority: ReturnType<typeof createAuthority>,
  o: { node: string; tenant: 'required' | 'optional'; version: string },
): Promise<ChildProcess> {
  const credential = authority.issue({
    node: o.node,
    unit: 'users',
    services: ['users'],
    assertsPrincipal: false,
  })
  const child = spawn(process.execPath, ['--import', 'tsx', joinerEntry], {
    env: {
      ...process.env,
      NODE_ID: o.node,
      TENANT: o.tenant,
      VERSION: o.version,
      CREDENTIAL: JSON.stringify(credential),
      TRANSPORT: JSON.stringify(running.supervisor.transport),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`joiner exited early with ${code}`)))
    child.stdout?.on('data', (c: Buffer) => {
      if (c.toString().includes('ready')) resolve(child)
    })
  })
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGKILL')
  await exited
}

it('reports an instance that joins without a deploy with a breaking contract, with its diff', {
  timeout: 120_000,
}, async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'tessera-contract-join-'))
  const before = process.env.TESSERA_TEST_STATE_DIR
  process.env.TESSERA_TEST_STATE_DIR = stateDir
  const authority = createAuthority()
  const events: SupervisorEvent[] = []
  let running: RunningSystem | undefined
  const joiners: ChildProcess[] = []
  try {
    running = await startSystem({ configFile, authority, onEvent: (e) => events.push(e) })
    expect(running.failed).toEqual([])
    const registry = running.supervisor.caller.registry
    const compatible = await startJoiner(running, authority, {
      node: 'users-by-hand-1',
      tenant: 'optional',
      version: '1.1.0',
    })
    joiners.push(compatible)
    await until(() => registry.has('users-by-hand-1'), 'the compatible joiner visible')
    const breaking = await startJoiner(running, authority, {
      node: 'users-by-hand-2',
      tenant: 'required',
      version: '2.0.0',
    })
    joiners.push(breaking)
    await until(
      () => events.some((e) => e.type === 'contract-mismatch'),
      'the breaking joiner reported',
      30_000,
    )

    const reported = events.filter((e) => e.type === 'contract-mismatch')
    expect(reported).toHaveLength(1)
    expect(reported[0]).toMatchObject({ type: 'contract-mismatch', unit: 'users', node: 'users-by-hand-2' })
    const reason = (reported[0] as { reason: string }).reason
    expect(reason).toMatch(
      /^an instance this runtime did not start, users-by-hand-2, joined with users 2\.0\.0, which breaks the running 1\.0\.0/,
    )
    expect(reason).toContain('action get input.tenant')

    // The control API keeps it, with the structured diff; the CLI prints it and exits 1.
    const control = controlClient(running.state)
    const seen = (await control.run('contracts', {})) as ContractMismatch[]
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({
      unit: 'users',
      service: 'users',
      node: 'users-by-hand-2',
      version: '2.0.0',
      runningVersion: '1.0.0',
      own: false,
    })
    expect(seen[0]?.diff.breaking.map((c) => c.where)).toEqual(['action get input.tenant'])
    const printed = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(process.execPath, [bin, 'events', 'contracts', '--state-dir', stateDir], (err, stdout) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
      ),
    )
    expect(printed.code).toBe(1)
    expect(printed.stdout).toMatch(
      / users-by-hand-2 \(not started by this runtime\): users 2\.0\.0 breaks 1\.0\.0\n/,
    )
  } finally {
    for (const j of joiners) await stop(j)
    await running?.close()
    if (before === undefined) delete process.env.TESSERA_TEST_STATE_DIR
    else process.env.TESSERA_TEST_STATE_DIR = before
    await rm(stateDir, { recursive: true, force: true })
  }
})
