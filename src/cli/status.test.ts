import { describe, expect, it } from 'vitest'
import type { SystemStatus } from '../runtime/index.ts'
import { autoscaleLines, statusRows, statusTable } from './commands/ops.ts'

const instance = (label: string, pid: number) => ({
  label,
  nodeId: `n-${label}`,
  state: 'ready' as const,
  pid,
  versions: label.startsWith('users') ? [{ name: 'users', version: '1.0.0' }] : [],
  uptimeMs: 1000,
  handled: 3,
  reqPerSec: 2,
  rssBytes: 50 * 1024 * 1024,
  cpuPercent: 1.5,
})
const status: SystemStatus = {
  system: 'shop',
  transport: 'socket',
  units: [
    {
      name: 'users',
      services: ['users'],
      adapters: [],
      listen: undefined,
      state: 'running',
      restarts: 0,
      instances: [instance('users#1', 11)],
    },
    {
      name: 'gateway',
      services: [],
      adapters: ['http'],
      listen: { host: '0.0.0.0', port: 8080 },
      state: 'running',
      restarts: 1,
      instances: [instance('gateway#1', 12)],
    },
    {
      name: 'idle',
      services: ['idle'],
      adapters: [],
      listen: undefined,
      state: 'crash-loop',
      restarts: 5,
      instances: [],
    },
  ],
}

describe('tessera status', () => {
  it('names an adapter unit in the SERVICE column and leaves no cell empty', () => {
    const table = statusTable(status)
    expect(table[2]).toEqual(['gateway', '-', 'gateway#1', 'ready', '1', '12', '50.0M', '1.5%', '2'])
    for (const row of table) {
      expect(row).toHaveLength(9)
      for (const cell of row) expect(cell).toMatch(/^\S+( \S+)*$/)
    }
    // Split on whitespace, every line of the table has the same columns.
    expect(table.slice(1).map((r) => r.join('  ').split(/\s+/)[0])).toEqual(['users', 'gateway', 'idle'])
  })

  it('--json gives one object per instance with stable field names', () => {
    const rows = statusRows(status)
    expect(JSON.parse(JSON.stringify(rows))).toEqual([
      {
        service: 'users',
        unit: 'users',
        version: '1.0.0',
        instance: 'users#1',
        state: 'ready',
        unitState: 'running',
        restarts: 0,
        pid: 11,
        rssBytes: 52428800,
        cpuPercent: 1.5,
        reqPerSec: 2,
      },
      {
        service: 'gateway',
        unit: 'gateway',
        version: null,
        instance: 'gateway#1',
        state: 'ready',
        unitState: 'running',
        restarts: 1,
        pid: 12,
        rssBytes: 52428800,
        cpuPercent: 1.5,
        reqPerSec: 2,
      },
      {
        service: 'idle',
        unit: 'idle',
        version: null,
        instance: null,
        state: 'crash-loop',
        unitState: 'crash-loop',
        restarts: 5,
        pid: null,
        rssBytes: null,
        cpuPercent: null,
        reqPerSec: null,
      },
    ])
  })

  it('says under the table what an autoscaled unit measures and its last step', () => {
    const users = {
      ...status.units[0]!,
      autoscale: {
        min: 1,
        max: 3,
        target: { metric: 'inFlight' as const, value: 8 },
        measured: 11.25,
        lastStep: {
          from: 1,
          to: 2,
          measured: 12,
          windowMs: 3000,
          reason: 'above-target' as const,
          at: Date.UTC(2026, 0, 1),
        },
      },
    }
    expect(autoscaleLines({ ...status, units: [users, status.units[1]!] })).toEqual([
      'users: autoscale 1..3 at 8 in flight per instance, 1 now, measured 11.3, last 1 -> 2 (above-target) at 2026-01-01T00:00:00.000Z',
    ])
    expect(autoscaleLines(status)).toEqual([])
  })
})
