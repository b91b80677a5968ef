/**
 * The `gateway` unit: an HTTP server in front of the system. Only actions that declare
 * an `http` route are reachable; `/openapi.json` and `/docs` describe them.
 */
import { createGateway } from 'tessera/gateway'
import { defineAdapter } from 'tessera/runtime'

export default defineAdapter({
  name: 'gateway',
  async start(broker, { listen, drain, logger }) {
    const gateway = await createGateway({ broker, ...(listen ? { listen: { fd: listen.fd } } : {}), logger })
    return { close: () => gateway.drain(drain) }
  },
})
