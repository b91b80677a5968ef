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
  for (let i = 0; i < Math.min(2_000, n); i++) await op()
  const samples = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await op()
    samples[i] = (performance.now() - t) * 1_000
  }
  samples.sort()
  return { p50: samples[Math.floor(n * 0.5)]!, p99: samples[Math.floor(n * 0.99)]! }
}
