// Tessera service side of the HTTP benchmark: `greeter.hello`, a public
// `GET /hello/:name` with a validated input, on the socket transport (TESSERA_DIR).
// Outputs are not re-validated, as in production.
import { Type as T } from '@sinclair/typebox'
import { createBroker } from 'tessera/broker'
import { defineService } from 'tessera/contract'
import { socketTransport } from 'tessera/transport/socket'

const greeter = defineService({
  name: 'greeter',
  actions: ({ action }) => ({
    hello: action({
      input: T.Object({ name: T.String({ minLength: 1, maxLength: 64 }) }),
      output: T.Object({ text: T.String() }),
      http: { method: 'GET', path: '/hello/:name', auth: 'public' },
      handler: ({ name }) => ({ text: `Hello, ${name}!` }),
    }),
  }),
})

const transport = socketTransport({ dir: process.env.TESSERA_DIR! })
const broker = createBroker({ nodeId: 'http-service', services: [greeter], transport, validateOutput: false })
await broker.start()
process.on('SIGTERM', () => process.exit(0))
process.stdout.write('ready\n')
