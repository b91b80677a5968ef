/**
 * The `gateway` unit of the reference system: the HTTP gateway as an adapter, run by the
 * runtime in its own process(es) like every service. Its instances share the socket the
 * supervisor binds (config `listen`), so a restart or deploy of the gateway starts the
 * new instance before the old one stops accepting and drains: no request is lost.
 * Its options come from the environment (see options.ts).
 */
import { createGateway } from 'tessera/gateway'
import { defineAdapter } from 'tessera/runtime'
import { referenceGatewayOptions } from './options.ts'

export default defineAdapter({
  name: 'gateway',
  async start(broker, { listen, drain, logger, instrumentation }) {
    const gateway = await createGateway({
      ...(await referenceGatewayOptions(broker, process.env)),
      ...(listen ? { listen: { fd: listen.fd } } : {}),
      logger,
      // Metrics (and traces) of every HTTP request, beside the broker's.
      ...(instrumentation ? { instrumentation } : {}),
    })
    return { close: () => gateway.drain(drain) }
  },
})
