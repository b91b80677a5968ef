// Moleculer 0.14 server side: the same `echo.ping` with parameter validation, over
// its TCP transporter (MOL_TCP_PORT, MOL_TCP_URLS: static node list, no UDP discovery)
// or NATS (NATS_URL). Default JSON serializer.
import { ServiceBroker } from 'moleculer'
import { moleculerBase, moleculerEcho } from '../lib/echo.ts'
import { linkFromEnv, moleculerTransporter } from '../lib/moleculer.ts'

const broker = new ServiceBroker({
  ...moleculerBase,
  nodeID: 'mol-server',
  transporter: moleculerTransporter(linkFromEnv()),
})
broker.createService(moleculerEcho)
await broker.start()
process.on('SIGTERM', () => process.exit(0))
process.stdout.write('ready\n')
