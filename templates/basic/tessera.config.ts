/**
 * The system: every unit below runs as its own process(es) under `tessera up`.
 * `npm start` runs it; `npm run dev` also rolls a unit whenever its sources change.
 */
import { defineSystem } from 'tessera/runtime'

const port = process.env.PORT ? Number(process.env.PORT) : 3000

export default defineSystem({
  name: '__NAME__',
  transport: { kind: 'socket' },
  services: {
    greeter: { entry: './services/greeter.ts', instances: 2 },
    'front-desk': { entry: './services/front-desk.ts', dependsOn: ['greeter'] },
    // The HTTP gateway, an adapter unit: its instances share the socket the runtime binds.
    gateway: {
      entry: './gateway.ts',
      dependsOn: ['front-desk'],
      listen: { port, host: '127.0.0.1' },
    },
  },
})
