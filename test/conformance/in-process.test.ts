import { afterAll, beforeAll } from 'vitest'
import { InProcessHub, inProcessTransport } from '../../src/transport/in-process/index.ts'
import { describeTransportConformance } from './suite.ts'

describeTransportConformance(
  {
    name: 'in-process',
    async network() {
      const hub = new InProcessHub()
      return {
        transport: () => inProcessTransport(hub),
        spec: undefined,
        crash: (nodeId) => hub.leave(nodeId, 'crashed'),
        close: async () => {},
      }
    },
  },
  { beforeAll, afterAll },
)
