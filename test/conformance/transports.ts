import type { Transport } from '../../src/transport/index.ts'
import { natsTransport } from '../../src/transport/nats/index.ts'
import { socketTransport } from '../../src/transport/socket/index.ts'

/** How a child process builds the same transport as its test: plain JSON, passed on the command line. */
export type TransportSpec =
  | { kind: 'socket'; dir: string }
  | { kind: 'nats'; servers: string; namespace: string }

export function transportFromSpec(spec: TransportSpec): Transport {
  switch (spec.kind) {
    case 'socket':
      return socketTransport({ dir: spec.dir })
    case 'nats':
      return natsTransport({ servers: spec.servers, namespace: spec.namespace })
  }
}
