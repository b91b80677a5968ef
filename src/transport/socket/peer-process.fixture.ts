/**
 * A node in its own process, for tests: `node --import tsx peer-process.fixture.ts <dir> <nodeId>`.
 * Prints `ready` once started and echoes every request back as a response; runs until killed.
 */
import { socketTransport } from './socket-transport.ts'
import { info } from './test-support.ts'

const [dir, nodeId] = process.argv.slice(2)
if (!dir || !nodeId) throw new Error('usage: peer-process.fixture.ts <dir> <nodeId>')
const transport = socketTransport({ dir })
await transport.start(info(nodeId), {
  onMessage(from, message) {
    if (message.kind === 'request')
      transport.send(from, { kind: 'response', id: message.id, ok: true, output: message.input })
  },
  onPeer() {},
  onPeerGone() {},
})
process.stdout.write('ready\n')
