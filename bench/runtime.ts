// The runtime's numbers: time from `up` to ready for a 10-service system (builds
// included), time from a SIGKILL to a ready replacement, idle memory per instance.
// Runs under tsx (the supervisor imports TypeScript), driven by run.ts as a child
// process that prints its rows as JSON on the last line.
//
// `--compare` first measures the tsx fallback (`build: false`: every instance runs
// `node --import tsx`), then the default (a bundle per unit), back to back on the same
// machine state; the default rows then carry the ratio against the fallback.
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSupervisor, defineSystem, type SupervisorEvent } from 'tessera/runtime'
import type { Row } from './lib/report.ts'

const here = dirname(fileURLToPath(import.meta.url))
const group = 'runtime'
const names = ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10'].map((n) => `svc${n}`)
const labels = {
  up: 'up → ready, 10 services',
  rss: 'idle instance RSS (mean)',
  kill: 'SIGKILL → replacement ready (median of 3)',
}

async function main(build: boolean, baseline: boolean): Promise<Row[]> {
  const suffix = build ? '' : ' [tsx, build: false]'
  const stateDir = join(tmpdir(), `tessera-bench-runtime-${process.pid}-${build ? 'build' : 'tsx'}`)
  const config = defineSystem({
    name: 'bench',
    stateDir,
    build,
    services: Object.fromEntries(names.map((name) => [name, { entry: `./fixtures/${name}.ts` }])),
  })
  const row = (key: keyof typeof labels, value: number, unit: string, aim: string, limit: number): Row => ({
    group,
    name: labels[key] + suffix,
    value,
    unit,
    aim,
    met: value < limit,
    ...(build && baseline ? { baseline: `${labels[key]} [tsx, build: false]`, lowerIsBetter: true } : {}),
  })
  const events: SupervisorEvent[] = []
  const supervisor = createSupervisor({ config, root: here, onEvent: (e) => events.push(e) })
  const rows: Row[] = []
  try {
    const t0 = performance.now()
    const { failed } = await supervisor.up()
    if (failed.length) throw new Error(`failed to start: ${failed.join(', ')}`)
    await supervisor.caller.waitFor(names, 10_000)
    rows.push(row('up', performance.now() - t0, 'ms', '< 3000 ms', 3000))

    // Idle memory: let start-up garbage settle, then read RSS of every instance.
    await new Promise((r) => setTimeout(r, 1_500))
    const rss = supervisor
      .status()
      .units.flatMap((u) => u.instances.map((i) => i.rssBytes ?? 0))
      .filter((b) => b > 0)
    rows.push(row('rss', rss.reduce((a, b) => a + b, 0) / rss.length / 1_048_576, 'MB', '< 60 MB', 60))

    // SIGKILL → replacement ready, three times, median.
    const times: number[] = []
    for (const name of names.slice(0, 3)) {
      const victim = supervisor.unit(name).instances()[0]
      if (!victim?.pid) throw new Error(`no instance of ${name}`)
      const seen = events.length
      const killedAt = performance.now()
      process.kill(victim.pid, 'SIGKILL')
      await until(() => events.slice(seen).some((e) => e.type === 'ready' && e.unit === name), 10_000)
      times.push(performance.now() - killedAt)
    }
    times.sort((a, b) => a - b)
    rows.push(row('kill', times[1]!, 'ms', '< 500 ms', 500))
  } finally {
    await supervisor.down()
    await supervisor.close()
    await rm(stateDir, { recursive: true, force: true })
  }
  return rows
}

async function until(test: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!test()) {
    if (Date.now() > end) throw new Error('timed out waiting for the replacement')
    await new Promise((r) => setTimeout(r, 5))
  }
}

const compare = process.argv.includes('--compare')
const rows = [...(compare ? await main(false, false) : []), ...(await main(true, compare))]
process.stdout.write(`\n${JSON.stringify(rows)}\n`)
