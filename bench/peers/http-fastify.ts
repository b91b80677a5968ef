// Reference point: a fastify hello world (same route shape as the gateway's, no
// validation, no response schema) on 127.0.0.1; prints its URL after "ready".
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/hello/:name', async () => ({ hello: 'world' }))
process.on('SIGTERM', () => process.exit(0))
const url = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`ready ${url}\n`)
