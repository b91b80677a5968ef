import { Agent, request } from 'node:http'

/** An answer of the shop's gateway. */
export interface Answer {
  status: number
  body: unknown
  /** Which gateway answered. */
  via: string
}

/** A request that did not get a 2xx: its `code` is `HTTP_<status>` or the socket's error code. */
export class ShopError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** How long one request may take in all: past the gateway's own 10 s deadline. */
export const CLIENT_DEADLINE_MS = 12_000

/**
 * What a load balancer in front of several gateways does, as a client: each request goes
 * to the next gateway in turn that is not marked down. A connection refused never reached
 * a gateway, so it is sent to the next one whatever the request (and that gateway is
 * skipped for a second). A connection reset or closed before the answer may have reached
 * one: it is sent again elsewhere only when `retry` says the request is safe to repeat (a
 * GET, or a POST carrying its idempotency key); otherwise it fails with the socket's code.
 * Every answer with a status is final: failing over behind the gateway is the system's job.
 */
export function shopClient(gateways: string[]) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 })
  const downUntil = new Map<string, number>()
  let next = 0
  const pick = () => {
    for (let i = 0; i < gateways.length; i++) {
      const gw = gateways[next++ % gateways.length]!
      if ((downUntil.get(gw) ?? 0) <= Date.now()) return gw
    }
    return gateways[next++ % gateways.length]!
  }

  const once = (
    base: string,
    method: string,
    path: string,
    body: unknown,
    token?: string,
    signal?: AbortSignal,
  ) =>
    new Promise<Answer>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body)
      const req = request(
        `${base}${path}`,
        {
          method,
          agent,
          signal,
          headers: {
            ...(payload ? { 'content-type': 'application/json' } : {}),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => (text += c))
          res.on('end', () => {
            let parsed: unknown = text
            try {
              parsed = JSON.parse(text)
            } catch {}
            resolve({ status: res.statusCode ?? 0, body: parsed, via: base })
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(payload)
    })

  return {
    /** Sends one request; resolves with a 2xx answer, rejects with a ShopError. */
    async send(method: string, path: string, options: { body?: unknown; token?: string; retry: boolean }) {
      const signal = AbortSignal.timeout(CLIENT_DEADLINE_MS)
      let last = ''
      for (let attempt = 0; attempt < 2 * gateways.length; attempt++) {
        const gw = pick()
        let answer: Answer
        try {
          answer = await once(gw, method, path, options.body, options.token, signal)
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? (err as Error).name
          last = `${code} from ${gw}: ${(err as Error).message}`
          if (code === 'ABORT_ERR') throw new ShopError('CLIENT_DEADLINE', last)
          if (code === 'ECONNREFUSED') {
            downUntil.set(gw, Date.now() + 1000)
            continue
          }
          if (options.retry && (code === 'ECONNRESET' || code === 'EPIPE')) {
            downUntil.set(gw, Date.now() + 1000)
            continue
          }
          throw new ShopError(code, last)
        }
        if (answer.status >= 200 && answer.status < 300) return answer
        throw new ShopError(
          `HTTP_${answer.status}`,
          `${method} ${path} via ${gw}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`,
        )
      }
      throw new ShopError('NO_GATEWAY', `no gateway took ${method} ${path}: ${last}`)
    },
    close: () => agent.destroy(),
  }
}
