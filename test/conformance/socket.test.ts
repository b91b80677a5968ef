import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { socketTransport } from '../../src/transport/socket/index.ts'
import { describeTransportConformance } from './suite.ts'

describeTransportConformance(
  {
    name: 'socket',
    async network() {
      const dir = await mkdtemp(join(tmpdir(), 'tessera-conf-'))
      return {
        transport: () => socketTransport({ dir }),
        spec: { kind: 'socket', dir },
        close: () => rm(dir, { recursive: true, force: true }),
      }
    },
  },
  { beforeAll, afterAll },
)
