// The autoscaler on a load ramp: a unit whose instances do one 5 ms piece of work at a
// time (bench/fixtures/one-at-a-time.ts), autoscale { min 1, max 3, target { inFlight: 2 }, inBelow 0.25 },
// 50 calls/s for 2 s, then 400/s until it served at max for 6 s, then none. Rows: the p99
// at 50/s, at 400/s until a 2nd instance serves and at 400/s at max, when each step came, how long back to min, instances over
// time, failed calls. Runs under tsx (the supervisor imports TypeScript entries), driven by
// run.ts through autoscale-child.ts; prints its rows as JSON on the last line. ~20 s.
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSupervisor, defineSystem, type SupervisorEvent } from 'tessera/runtime'
import type WorkService from './fixtures/one-at-a-time.ts'
import type { Row } from './lib/report.ts'

const here = dirname(fileURLToPath(import.meta.url))
const group = 'autoscaler on a load ramp'
/** Calls per second before and after the ramp; one instance serves ~200/s. */
const LOW = 50
const HIGH = 400
const LOW_MS = 2000
const LOAD_MS = 16_000
/** How long the load goes on at max; its last 3 s are measured (the backlog of before drained). */
const AT_MAX_MS = 6000

function p99(latencies: number[]): number {
  const sorted = [...latencies].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN
}

async function main(): Promise<Row[]> {
  const stateDir = join(tmpdir(), `tessera-bench-autoscale-${process.pid}`)
  const config = defineSystem({
    name: 'bench-autoscale',
    stateDir,
    health: { pingIntervalMs: 250 },
    services: {
      work: {
        entry: './fixtures/one-at-a-time.ts',
        autoscale: {
          min: 1,
          max: 3,
          // In flight grows much faster than the load near saturation (a queue forms): with
          // the default inBelow 0.5, 3 instances at 400/s measure ~1 each, under 0.5 x 4, and
          // the unit flapped 3 -> 2 -> 3 under constant load. Scale in only below 0.5.
          target: { inFlight: 2 },
          inBelow: 0.25,
          cooldownMs: 2000,
          outAfterMs: 1000,
          inAfterMs: 2000,
        },
      },
    },
  })
  const events: { at: number; e: SupervisorEvent }[] = []
  const supervisor = createSupervisor({
    config,
    root: here,
    onEvent: (e) => events.push({ at: performance.now(), e }),
  })
  const count = () => supervisor.status().units[0]?.instances.length ?? 0
  try {
    const { failed } = await supervisor.up()
    if (failed.length) throw new Error(`failed to start: ${failed.join(', ')}`)
    await supervisor.caller.waitFor(['work'], 10_000)
    const work = supervisor.caller.client<typeof WorkService>('work')

    // Open-loop load (a fixed arrival rate, whatever the latency): LOW for 2 s, which one
    // instance serves (capacity ~200/s), then HIGH, which needs two or more.
    const calls: { at: number; ms: number }[] = []
    const pending = new Set<Promise<unknown>>()
    let failures = 0
    const t0 = performance.now()
    const elapsed = () => performance.now() - t0
    const rate = () => (elapsed() < LOW_MS ? LOW : HIGH)
    const timeline: number[] = [count()]
    const sampler = setInterval(() => timeline.push(count()), 1000)
    let owed = 0
    let last = t0
    let atMaxSince: number | undefined
    // Until the unit has served at max for AT_MAX_MS (or LOAD_MS).
    while (elapsed() < LOAD_MS && !(atMaxSince !== undefined && performance.now() - atMaxSince > AT_MAX_MS)) {
      await new Promise((r) => setTimeout(r, 5))
      const now = performance.now()
      owed += ((now - last) * rate()) / 1000
      last = now
      for (; owed >= 1; owed--) {
        const at = performance.now()
        const call = work.run({}).then(
          () => calls.push({ at: at - t0, ms: performance.now() - at }),
          () => failures++,
        )
        pending.add(call)
        void call.finally(() => pending.delete(call))
      }
      // At max once the third instance serves (its `ready`), not when its slot was added.
      if (atMaxSince === undefined && events.some((x) => x.e.type === 'ready' && x.e.instance === 'work#3'))
        atMaxSince = performance.now()
    }
    await Promise.all(pending)
    const stoppedAt = performance.now()
    while (count() > 1 && performance.now() - stoppedAt < 15_000) await new Promise((r) => setTimeout(r, 50))
    const backAt = performance.now()
    clearInterval(sampler)
    timeline.push(count())

    const steps = events.filter((x) => x.e.type === 'autoscaled')
    const stepAt = (to: number, dir: 'out' | 'in') =>
      steps.find((x) => x.e.type === 'autoscaled' && x.e.to === to && (dir === 'out') === x.e.to > x.e.from)
    const readyAt = (label: string) =>
      events.find((x) => x.e.type === 'ready' && x.e.instance === label)?.at ?? Number.POSITIVE_INFINITY
    const window = (from: number, to: number) =>
      calls.filter((c) => c.at >= from && c.at < to).map((c) => c.ms)
    const low = `p99 at ${LOW}/s, 1 instance`
    const before = `p99 at ${HIGH}/s, 1 instance (until the 2nd serves)`
    const rows: Row[] = [
      { group, name: low, value: p99(window(500, LOW_MS)), unit: 'ms' },
      {
        group,
        name: before,
        value: p99(window(LOW_MS, readyAt('work#2') - t0)),
        unit: 'ms',
        baseline: low,
        lowerIsBetter: true,
      },
      {
        group,
        name: `p99 at ${HIGH}/s, 3 instances (last 3 s)`,
        value:
          atMaxSince === undefined
            ? Number.NaN
            : p99(window(atMaxSince - t0 + AT_MAX_MS - 3000, Number.POSITIVE_INFINITY)),
        unit: 'ms',
        baseline: before,
        lowerIsBetter: true,
      },
    ]
    for (const to of [2, 3]) {
      const s = stepAt(to, 'out')
      if (s)
        rows.push({
          group,
          name: `load start → step to ${to} instances`,
          value: (s.at - t0) / 1000,
          unit: 's',
        })
    }
    const flaps = steps.filter(
      (x) => x.at < stoppedAt && x.e.type === 'autoscaled' && x.e.to < x.e.from,
    ).length
    rows.push(
      {
        group,
        name: 'scale-ins while the load ran (flapping)',
        value: flaps,
        unit: 'steps',
        aim: '= 0',
        met: flaps === 0,
      },
      { group, name: 'load stop → back to 1 instance', value: (backAt - stoppedAt) / 1000, unit: 's' },
      {
        group,
        name: `instances each second: ${timeline.join(' ')}`,
        value: Math.max(...timeline),
        unit: 'peak',
      },
      {
        group,
        name: `failed calls (of ${calls.length + failures})`,
        value: failures,
        unit: 'calls',
        aim: '= 0',
        met: failures === 0,
      },
    )
    return rows
  } finally {
    await supervisor.down()
    await rm(stateDir, { recursive: true, force: true })
  }
}

const rows = await main()
process.stdout.write(`\n${JSON.stringify(rows)}\n`)
