// Raw nats.js echo server, the NATS limit: subscribes to RAW_SUBJECT and answers every
// request `[1, id, service, action, ctx, input]` with `[2, id, input]` on its reply subject, through the same
// connection, with none of Tessera's routing, validation or bookkeeping. nats.js itself
// batches what is published in one turn into one socket write.
import { connect } from 'nats'
import { packr } from '../lib/raw-frames.ts'

const url = process.env.NATS_URL
const subject = process.env.RAW_SUBJECT
if (!url || !subject) throw new Error('NATS_URL and RAW_SUBJECT are required')
const nc = await connect({ servers: url })
nc.subscribe(subject, {
  callback: (err, msg) => {
    if (err || !msg.reply) return
    const req = packr.unpack(msg.data) as [number, number, string, string, unknown, unknown]
    nc.publish(msg.reply, packr.pack([2, req[1], req[5]]))
  },
})
await nc.flush()
process.on('SIGTERM', () => process.exit(0))
process.stdout.write('ready\n')
