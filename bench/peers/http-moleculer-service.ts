// Moleculer service side of the HTTP benchmark: `greeter.hello` with parameter
// validation, over the TCP transporter (MOL_TCP_PORT, MOL_TCP_URLS).
import { ServiceBroker } from 'moleculer'
import { moleculerBase } from '../lib/echo.ts'
import { linkFromEnv, moleculerTransporter } from '../lib/moleculer.ts'

const broker = new ServiceBroker({
  ...moleculerBase,
  nodeID: 'mol-http-service',
  transporter: moleculerTransporter(linkFromEnv()),
})
broker.createService({
  name: 'greeter',
  actions: {
    hello: {
      params: { name: { type: 'string', min: 1, max: 64 } },
      handler: (ctx: { params: { name: string } }) => ({ text: `Hello, ${ctx.params.name}!` }),
    },
  },
})
await broker.start()
process.on('SIGTERM', () => process.exit(0))
process.stdout.write('ready\n')
