import { afterAll, beforeAll } from 'vitest'
import { natsTransport } from '../../src/transport/nats/index.ts'
import { type NatsServer, startNatsServer } from '../support/nats-server.ts'
import { describeTransportConformance } from './suite.ts'

let server: NatsServer | undefined
let n = 0

describeTransportConformance(
  {
    name: 'nats',
    async setup() {
      server = await startNatsServer()
    },
    async teardown() {
      await server?.stop()
    },
    async network() {
      if (!server) throw new Error('nats-server did not start')
      const servers = server.url
      // A namespace per test isolates its nodes from the previous test's stragglers.
      const namespace = `conf${process.pid}n${++n}`
      return {
        transport: () => natsTransport({ servers, namespace }),
        spec: { kind: 'nats', servers, namespace },
        close: async () => {},
      }
    },
  },
  { beforeAll, afterAll },
)
