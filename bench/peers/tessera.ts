// Tessera server side: a broker hosting `echo` over the socket transport (TESSERA_DIR)
// or NATS (NATS_URL). Outputs are not re-validated, as in production (NODE_ENV).
import { createBroker } from 'tessera/broker'
import { natsTransport } from 'tessera/transport/nats'
import { socketTransport } from 'tessera/transport/socket'
import { echo } from '../lib/echo.ts'

const dir = process.env.TESSERA_DIR
const nats = process.env.NATS_URL
const transport = nats
  ? natsTransport({ servers: nats, namespace: process.env.NAMESPACE ?? 'bench' })
  : socketTransport({ dir: dir! })
const broker = createBroker({ nodeId: 'bench-server', services: [echo], transport, validateOutput: false })
await broker.start()
process.on('SIGTERM', () => process.exit(0))
process.stdout.write('ready\n')
