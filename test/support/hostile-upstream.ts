/**
 * A real HTTP server on 127.0.0.1 that misbehaves as an outside API might: a body that
 * never ends, a Content-Length of hundreds of megabytes, a body trickled a byte at a
 * time, a redirect elsewhere. It counts the requests it got and the body bytes it
 * handed to the socket, so a test can assert how much a client let it send — a count,
 * not a timing.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Answers one request; `sent(n)` records body bytes written. */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, sent: (bytes: number) => void) => void

export interface Upstream extends AsyncDisposable {
  readonly url: string
  /** Requests received so far. */
  readonly requests: number
  /** Body bytes written to sockets so far (accepted by the socket, whether or not read). */
  readonly bytesSent: number
  /** Resolves once no response is open (each one ended, or its connection closed). */
  settled(): Promise<void>
  close(): Promise<void>
}

export async function startUpstream(behaviour: Behaviour): Promise<Upstream> {
  let requests = 0
  let bytesSent = 0
  let open = 0
  let waiters: (() => void)[] = []
  const server = createServer((req, res) => {
    requests++
    open++
    res.once('close', () => {
      if (--open > 0) return
      for (const w of waiters) w()
      waiters = []
    })
    behaviour(req, res, (n) => {
      bytesSent += n
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const upstream: Upstream = {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests
    },
    get bytesSent() {
      return bytesSent
    },
    settled: () => (open === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
    [Symbol.asyncDispose]: () => upstream.close(),
  }
  return upstream
}

const CHUNK = Buffer.alloc(64 * 1024, 0x20) // spaces: still "JSON" to a parser that reads it all

/**
 * Streams `totalBytes` of body in 64 KiB chunks, waiting for the socket to drain (so
 * what is counted is what the client's side let through), and stops when the client
 * goes away. `contentLength` declares a length (e.g. 300 MB); without it the body is
 * chunked and its end is unknown to the client.
 */
export function hugeBody(options: { totalBytes: number; contentLength?: number }): Behaviour {
  return (_req, res, sent) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json' }
    if (options.contentLength !== undefined) headers['content-length'] = options.contentLength
    res.writeHead(200, headers)
    let left = options.totalBytes
    let gone = false
    res.once('close', () => {
      gone = true
    })
    const pump = () => {
      while (!gone && left > 0) {
        const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left)
        left -= chunk.length
        sent(chunk.length)
        if (!res.write(chunk)) return void res.once('drain', pump)
      }
      // A declared length not reached: cut the connection, as a dying upstream would.
      if (!gone && options.contentLength !== undefined && options.contentLength > options.totalBytes)
        res.destroy()
      else if (!gone) res.end()
    }
    pump()
  }
}

/** Sends `prefix`, then one space every `everyMs`, never ending (until the client leaves). */
export function trickle(options: { prefix: string; everyMs: number }): Behaviour {
  return (_req, res, sent) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write(options.prefix)
    sent(Buffer.byteLength(options.prefix))
    const timer = setInterval(() => {
      res.write(' ')
      sent(1)
    }, options.everyMs)
    res.once('close', () => clearInterval(timer))
  }
}

/** Answers `status` (302 by default) with `Location: location`. */
export function redirectTo(location: string, status = 302): Behaviour {
  return (_req, res) => {
    res.writeHead(status, { location }).end()
  }
}

/** Answers `status` with a JSON body (and `contentType`, application/json by default). */
export function json(status: number, body: unknown, contentType = 'application/json'): Behaviour {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': contentType }).end(JSON.stringify(body))
  }
}
