/** Config `metrics: { calls: false }`: instances record no per-action call metrics, and still report their process. */
import { expect, it } from 'vitest'
import { parsePrometheus, samples } from '../../../src/metrics/testing/parse-prometheus.ts'
import { runSystem } from './support.ts'

it('leaves out the call series when call metrics are off, keeping process metrics', {
  timeout: 40_000,
}, async () => {
  await using run = await runSystem({
    name: 'metricsoff',
    services: { metered: { entry: './metered.ts' } },
    metrics: { calls: false },
  })
  const client = run.client.client<typeof import('./fixtures/metered.ts').default>('metered')
  for (let n = 0; n < 3; n++) await client.ok({ n })
  const parsed = parsePrometheus((await run.sup.metrics()).text)
  expect(samples(parsed, 'tessera_handled_total')).toEqual([])
  expect(samples(parsed, 'tessera_calls_total')).toEqual([])
  expect(samples(parsed, 'process_resident_memory_bytes').map((s) => s.labels?.instance)).toContain(
    'metered#1',
  )
})
