/**
 * The reference system for the runtime: `tessera up examples/reference/tessera.config.ts`.
 * Data goes to `$TESSERA_DATA_DIR` (default `.tessera/data`) as one SQLite file per
 * service, or to PostgreSQL when `DATABASE_URL` is set; quotes reads `QUOTES_API_URL`
 * (run `npx tsx examples/reference/fake-quotes-api.ts` for a local one).
 * The HTTP gateway is a unit too (an adapter): it listens on `$PORT` (8080) at
 * `$GATEWAY_HOST` (127.0.0.1), a socket its instances share.
 * `TESSERA_TRANSPORT=nats` switches to the NATS transport at `$NATS_URL` (default
 * nats://nats:4222, the Service of the NATS Helm chart): what containers need
 * (`tessera build image`, `tessera build k8s`, docs/kubernetes.md).
 */
import { defineSystem } from 'tessera/runtime'

const port = process.env.PORT ? Number(process.env.PORT) : 8080

export default defineSystem({
  name: 'reference',
  transport:
    process.env.TESSERA_TRANSPORT === 'nats'
      ? { kind: 'nats', servers: process.env.NATS_URL || 'nats://nats:4222' }
      : { kind: 'socket' },
  // Every request traced (the runtime keeps recent traces for the dashboard; a real
  // deployment samples less: `TESSERA_TRACE_SAMPLE`).
  tracing: { sampleRatio: 1 },
  services: {
    users: { entry: './services/users/service.ts' },
    auth: { entry: './services/auth/service.ts', dependsOn: ['users'] },
    // Two instances each: SQLite in WAL mode with a busy timeout lets them share one file.
    catalog: { entry: './services/catalog/service.ts', instances: 2 },
    orders: { entry: './services/orders/service.ts', instances: 2, dependsOn: ['users', 'catalog'] },
    notifications: { entry: './services/notifications/service.ts' },
    quotes: { entry: './services/quotes/service.ts' },
    // The HTTP gateway: started once every service it routes to serves.
    gateway: {
      entry: './gateway/entry.ts',
      dependsOn: ['auth', 'users', 'catalog', 'orders', 'notifications', 'quotes'],
      listen: { port, host: process.env.GATEWAY_HOST || '127.0.0.1' },
    },
  },
})
