// moleculer-web in front of a Moleculer broker on the TCP transporter
// (MOL_TCP_PORT, MOL_TCP_URLS): `GET /hello/:name` → `greeter.hello` in the other
// process. Listens on 127.0.0.1:HTTP_PORT; "ready <url>" once greeter is reachable.
import { ServiceBroker } from 'moleculer'
import ApiGateway from 'moleculer-web'
import { moleculerBase } from '../lib/echo.ts'
import { linkFromEnv, moleculerTransporter } from '../lib/moleculer.ts'

const port = Number(process.env.HTTP_PORT)
const broker = new ServiceBroker({
  ...moleculerBase,
  nodeID: 'mol-http-gateway',
  transporter: moleculerTransporter(linkFromEnv()),
})
broker.createService({
  name: 'api',
  mixins: [ApiGateway],
  settings: {
    port,
    ip: '127.0.0.1',
    logRequest: null,
    logResponse: null,
    logRouteRegistration: null,
    routes: [{ path: '/', mappingPolicy: 'restrict', aliases: { 'GET /hello/:name': 'greeter.hello' } }],
  },
})
await broker.start()
await broker.waitForServices(['greeter'], 10_000)
process.on('SIGTERM', () => process.exit(0))
process.stdout.write(`ready http://127.0.0.1:${port}\n`)
