import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

/** Runs `op` with `concurrency` calls in flight for `ms`, after a warm-up; returns calls per second. */
export async function rate(
  op: () => Promise<unknown>,
  { ms = 2_000, warmupMs = 500, concurrency = 1 } = {},
): Promise<number> {
  await loop(op, warmupMs, concurrency)
  const { count, elapsed } = await loop(op, ms, concurrency)
  return (count / elapsed) * 1_000
}

async function loop(op: () => Promise<unknown>, ms: number, concurrency: number) {
  const start = performance.now()
  const end = start + ms
  let count = 0
  const worker = async () => {
    // Check the clock every 64 ops: `performance.now()` per op would dominate fast ops.
    while (true) {
      for (let i = 0; i < 64; i++) await op()
      count += 64
      if (performance.now() >= end) return
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { count, elapsed: performance.now() - start }
}

/**
 * Like `rate`, and the CPU time this process spent per call meanwhile (µs, user + system):
 * for a caller and a callee in one process, steadier than calls/s when other work competes
 * for the cores.
 */
export async function cpuRate(
  op: () => Promise<unknown>,
  { ms = 2_000, warmupMs = 300, concurrency = 1 } = {},
): Promise<{ rate: number; cpuMicros: number }> {
  await loop(op, warmupMs, concurrency)
  const before = process.cpuUsage()
  const { count, elapsed } = await loop(op, ms, concurrency)
  const used = process.cpuUsage(before)
  return { rate: (count / elapsed) * 1_000, cpuMicros: (used.user + used.system) / count }
}

/** The median of `values` and their lowest and highest. */
export function medianOf(values: number[]): { median: number; spread: [number, number] } {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { median, spread: [sorted[0]!, sorted[sorted.length - 1]!] }
}

/** Latency percentiles (µs) of `n` sequential calls, one in flight. */
export async function latency(op: () => Promise<unknown>, n = 20_000): Promise<{ p50: number; p99: number }> {
  return latencyOf(op, [], n)
}

/**
 * `latency`, and the CPU time per call (µs) each of `pids` spent over the measured calls:
 * with one call in flight nothing is batched, so this is a message's full cost per hop.
 */
export async function latencyOf(
  op: () => Promise<unknown>,
  pids: number[],
  n = 20_000,
): Promise<{ p50: number; p99: number; cpuMicros: number[] }> {
  for (let i = 0; i < Math.min(2_000, n); i++) await op()
  const before = pids.map(cpuNanos)
  const samples = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await op()
    samples[i] = (performance.now() - t) * 1_000
  }
  const after = pids.map(cpuNanos)
  samples.sort()
  return {
    p50: samples[Math.floor(n * 0.5)]!,
    p99: samples[Math.floor(n * 0.99)]!,
    cpuMicros: pids.map((_, i) => (after[i]! - before[i]!) / 1_000 / n),
  }
}

/**
 * CPU time (ns) process `pid` has used so far, all its threads (the main thread, libuv's
 * pool, V8's GC helpers): the first field of every /proc/<pid>/task/<tid>/schedstat.
 * Nanosecond resolution, unlike the 10 ms ticks of /proc/<pid>/stat. A thread that
 * ended between the listing and the read is skipped (its time is lost, a few µs).
 */
export function cpuNanos(pid: number): number {
  let sum = 0
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return Number.NaN
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8')
      sum += Number(text.slice(0, text.indexOf(' ')))
    } catch {}
  }
  return sum
}

/**
 * Like `rate`, and the CPU time per call (µs) each of `pids` spent meanwhile (the bench
 * process itself and its peers): summed over the processes of one system, the cost of a
 * call, which other work on the shared cores disturbs far less than calls/s.
 */
export async function cpuRateOf(
  op: () => Promise<unknown>,
  pids: number[],
  { ms = 2_000, warmupMs = 300, concurrency = 1 } = {},
): Promise<{ rate: number; cpuMicros: number[] }> {
  await loop(op, warmupMs, concurrency)
  const before = pids.map(cpuNanos)
  const { count, elapsed } = await loop(op, ms, concurrency)
  const after = pids.map(cpuNanos)
  return {
    rate: (count / elapsed) * 1_000,
    cpuMicros: pids.map((_, i) => (after[i]! - before[i]!) / 1_000 / count),
  }
}

/**
 * Pins every thread of each of `pids` to CPU `cpu` (taskset), or lets them run anywhere
 * again (`cpu` undefined). With one call in flight the processes of a system take turns,
 * so on one CPU nothing runs slower; it takes away the cross-CPU wake-ups of a virtual
 * machine (a halted vCPU woken by the host), which made a latency row swing 2x between
 * runs. False when taskset is missing or failed (then nothing is pinned).
 */
export function pin(pids: number[], cpu: number | undefined): boolean {
  const cpus = cpu === undefined ? `0-${availableParallelism() - 1}` : String(cpu)
  try {
    for (const pid of pids)
      execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
