// Two services calling each other, each on its own broker, joined in one process.
// Swap `inProcessTransport(hub)` for the socket or NATS transport to split them up.
import { createBroker } from 'tessera/broker'
import { InProcessHub, inProcessTransport } from 'tessera/transport/in-process'
import { type FrontDeskService, frontDesk, seen } from './front-desk.ts'
import { greeter } from './greeter.ts'

const hub = new InProcessHub()
const nodes = [
  createBroker({ nodeId: 'greeter-1', services: [greeter], transport: inProcessTransport(hub) }),
  createBroker({ nodeId: 'desk-1', services: [frontDesk], transport: inProcessTransport(hub) }),
]
for (const node of nodes) await node.start()

const texts = await nodes[1]!.client<FrontDeskService>('front-desk').welcome({ guests: ['Ada', 'Grace'] })
console.log(texts.join('\n'))
await new Promise((r) => setTimeout(r, 10))
console.log(`front desk saw greetings for: ${seen.join(', ')}`)
for (const node of nodes) await node.stop()
