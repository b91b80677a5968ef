/**
 * A node in its own process for the conformance suite:
 *   node --import tsx peer.ts '<transport json>' <nodeId>
 * Hosts `echo` (as instance <nodeId>), prints `ready` once announced, runs until killed.
 */
import { createBroker } from '../../src/broker/index.ts'
import { echoService } from './services.ts'
import { transportFromSpec } from './transports.ts'

const [spec, nodeId] = process.argv.slice(2)
if (!spec || !nodeId) throw new Error("usage: peer.ts '<transport json>' <nodeId>")
const broker = createBroker({
  nodeId,
  services: [echoService(nodeId)],
  transport: transportFromSpec(JSON.parse(spec)),
})
await broker.start()
process.on('SIGTERM', () => {
  void broker.stop().then(() => process.exit(0))
})
process.stdout.write('ready\n')
