import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

// Ports are picked below the kernel's ephemeral range. A port from `listen(0)` lies
// inside that range, and so does the local end of every outgoing connection, so any
// socket of any test could take it between our check and the server's bind. CI hit
// exactly that: a nats-server's route port was taken by the time it listened. Below
// the range only another `freePort` can collide, and it picks at random and checks.
const EPHEMERAL_LOW = ephemeralLow()
const LOW = 10_000
const TRIES = 64

/**
 * A TCP port on 127.0.0.1 that was free a moment ago and that no outgoing connection
 * or `listen(0)` will take: for servers that are given a port in their config.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < TRIES; i++) {
    const port = LOW + Math.floor(Math.random() * (EPHEMERAL_LOW - LOW))
    if (await canListen(port)) return port
  }
  // A range this full is a machine problem; an ephemeral port still works most times.
  return listenAny()
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

function listenAny(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      const port = typeof address === 'object' && address ? address.port : 0
      srv.close(() => resolve(port))
    })
  })
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > LOW + 1000 ? low : 32_768
  } catch {
    return 32_768
  }
}
