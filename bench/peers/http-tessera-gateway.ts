// Tessera gateway side of the HTTP benchmark: a broker on the socket transport
// (TESSERA_DIR) and `createGateway` on 127.0.0.1; "ready <url>" once the greeter's
// route is exposed.
import { createBroker } from 'tessera/broker'
import { createGateway } from 'tessera/gateway'
import { socketTransport } from 'tessera/transport/socket'

const broker = createBroker({
  nodeId: 'http-gateway',
  transport: socketTransport({ dir: process.env.TESSERA_DIR! }),
})
await broker.start()
const gateway = await createGateway({ broker })
await broker.waitFor(['greeter'], 10_000)
while (gateway.routes().length === 0) await new Promise((r) => setTimeout(r, 10))
process.on('SIGTERM', () => process.exit(0))
process.stdout.write(`ready ${gateway.url}\n`)
