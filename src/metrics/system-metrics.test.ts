import { Counter, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createInstanceMetrics } from './instance-metrics.ts'
import { renderSystemMetrics } from './system-metrics.ts'
import { parsePrometheus, samples, total } from './testing/parse-prometheus.ts'

async function instanceWith(calls: number) {
  const registry = new Registry()
  new Counter({
    name: 'tessera_handled_total',
    help: 'h',
    labelNames: ['service', 'action', 'code'],
    registers: [registry],
  }).inc({ service: 'users', action: 'get', code: 'OK' }, calls)
  return registry.getMetricsAsJSON()
}

describe('renderSystemMetrics', () => {
  it('keeps each instance’s series apart under unit and instance labels, with the supervisor’s own', async () => {
    const { text } = await renderSystemMetrics({
      system: 'shop',
      unitStates: ['running', 'crash-loop'],
      units: [
        { unit: 'users', state: 'running', restarts: 2, instanceStates: ['ready', 'ready', 'restarting'] },
      ],
      instances: [
        { unit: 'users', instance: 'users#1', metrics: await instanceWith(3) },
        { unit: 'users', instance: 'users#2', metrics: await instanceWith(4) },
        { unit: 'users', instance: 'users#3', metrics: undefined },
      ],
      supervisor: await createInstanceMetrics().snapshot(),
    })
    const parsed = parsePrometheus(text)
    expect(total(parsed, 'tessera_handled_total', { instance: 'users#1', unit: 'users' })).toBe(3)
    expect(total(parsed, 'tessera_handled_total', { instance: 'users#2' })).toBe(4)
    expect(total(parsed, 'tessera_handled_total')).toBe(7)
    expect(total(parsed, 'tessera_instance_up', { instance: 'users#1' })).toBe(1)
    expect(total(parsed, 'tessera_instance_up', { instance: 'users#3' })).toBe(0)
    expect(total(parsed, 'tessera_unit_restarts_total', { unit: 'users' })).toBe(2)
    expect(total(parsed, 'tessera_unit_state', { unit: 'users', state: 'running' })).toBe(1)
    expect(total(parsed, 'tessera_unit_state', { unit: 'users', state: 'crash-loop' })).toBe(0)
    expect(total(parsed, 'tessera_instances', { unit: 'users', state: 'ready' })).toBe(2)
    expect(total(parsed, 'tessera_instances', { unit: 'users', state: 'restarting' })).toBe(1)
    expect(total(parsed, 'tessera_system_info', { system: 'shop' })).toBe(1)
    // The supervisor's own process metrics, start time included (prom-client's cluster
    // aggregation would omit it).
    expect(samples(parsed, 'process_resident_memory_bytes', { unit: 'supervisor' })).toHaveLength(1)
    expect(samples(parsed, 'process_start_time_seconds', { unit: 'supervisor' })).toHaveLength(1)
  })
})
