// Seven nodes discovering each other at the same moment dial each other in every
// direction: duplicate connections must be resolved without losing a single call.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Type as T } from '@sinclair/typebox'
import { expect, it } from 'vitest'
import { createBroker } from '../../../src/broker/index.ts'
import { defineService } from '../../../src/contract/index.ts'
import { socketTransport } from '../../../src/transport/socket/index.ts'

const svc = (name: string) =>
  defineService({
    name,
    actions: ({ action }) => ({
      ping: action({ input: T.Object({ n: T.Number() }), output: T.Number(), handler: async ({ n }) => n }),
    }),
  })

it('many nodes starting at once answer every call', { timeout: 120_000 }, async () => {
  for (let round = 0; round < 8; round++) {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-stress-'))
    const n = 7
    const brokers = Array.from({ length: n }, (_, i) =>
      createBroker({
        nodeId: `n${i}`,
        services: [svc(`s${i}`)],
        transport: socketTransport({ dir }),
        drainGraceMs: 20,
      }),
    )
    await Promise.all(brokers.map((b) => b.start()))
    const names = brokers.map((_, i) => `s${i}`)
    await Promise.all(brokers.map((b) => b.waitFor(names, 10_000)))
    const failures: string[] = []
    await Promise.all(
      brokers.flatMap((b, i) =>
        names.flatMap((name, j) =>
          i === j
            ? []
            : Array.from({ length: 30 }, (_, k) =>
                b.call(name, 'ping', { n: k }, { timeout: 4_000 }).catch((e: Error) => {
                  failures.push(`${b.nodeId}->${name}: ${e.message}`)
                }),
              ),
        ),
      ),
    )
    await Promise.all(brokers.map((b) => b.stop()))
    await rm(dir, { recursive: true, force: true })
    expect(failures.slice(0, 5)).toEqual([])
  }
})
