// A node in its own process, for tests that kill it. Env: NATS_URL, NODE_ID,
// NAMESPACE. Prints "ready" once started; echoes every request as a response;
// SIGTERM closes the transport (BYE) and exits.
import { natsTransport } from '../index.ts'
import { nodeInfo } from './recorder.ts'

const nodeId = process.env.NODE_ID ?? 'child'
const transport = natsTransport({
  servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  namespace: process.env.NAMESPACE ?? 'default',
})
// Installed before "ready": a SIGTERM arriving before its listener would kill the
// process with the default action, without BYE.
process.on('SIGTERM', () => {
  transport.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
await transport.start(nodeInfo(nodeId), {
  onMessage(from, message) {
    if (message.kind === 'request') {
      transport.send(from, { kind: 'response', id: message.id, ok: true, output: message.input })
    }
  },
  onPeer() {},
  onPeerGone() {},
})
process.stdout.write('ready\n')
