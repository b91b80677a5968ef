import { request } from 'node:http'
import { describe, expect, it } from 'vitest'
import type { Supervisor } from '../../../src/runtime/index.ts'
import { runSystem, sleep, startLoad, until } from './support.ts'

/** One request on a fresh connection (no keep-alive), so the kernel picks the process each time. */
function freshGet(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve(body))
    })
    req.on('error', reject)
    req.end()
  })
}

function portOf(sup: Supervisor, unit: string): number {
  const address = sup.address(unit)
  if (!address) throw new Error(`${unit} has no address`)
  return address.port
}

const webSystem = (name: string, env: Record<string, string> = {}) => ({
  name,
  services: {
    pinger: { entry: './pinger.ts', instances: 2 },
    web: {
      entry: './web-gateway.ts',
      instances: 2,
      dependsOn: ['pinger'],
      listen: { port: 0 },
      env,
    },
  },
})

/** A fetch loop through the gateway: each request must answer 200, anything else is a failure. */
function httpLoad(base: string, path: string, method = 'GET', body?: unknown) {
  return startLoad(async () => {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(10_000),
    }).catch((err: Error) => {
      throw new Error(`${err.message}: ${(err.cause as Error | undefined)?.message ?? ''}`)
    })
    const text = await res.text()
    if (res.status !== 200) throw new Error(`HTTP ${res.status} ${text}`)
  }, 6)
}

describe('adapters on a shared socket', () => {
  it('two instances of an adapter unit serve one port', { timeout: 30_000 }, async () => {
    await using sys = await runSystem({
      name: 'adapters-share',
      services: { pids: { entry: './pid-http.ts', instances: 2, listen: { port: 0 } } },
    })
    const port = portOf(sys.sup, 'pids')
    const unit = sys.sup.status().units.find((u) => u.name === 'pids')!
    expect(unit.adapters).toEqual(['pids'])
    expect(unit.services).toEqual([])
    expect(unit.instances.map((i) => i.state)).toEqual(['ready', 'ready'])
    const pids = new Set(unit.instances.map((i) => String(i.pid)))
    const seen = new Set<string>()
    for (let round = 0; round < 20 && seen.size < 2; round++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => freshGet(port)))
      for (const a of answers) seen.add(a)
    }
    expect(seen).toEqual(pids)
  })

  it('restart and deploy of the gateway unit under HTTP load fail no request', {
    timeout: 90_000,
  }, async () => {
    await using sys = await runSystem(webSystem('adapters-roll'))
    const base = `http://127.0.0.1:${portOf(sys.sup, 'web')}`
    expect(((await (await fetch(`${base}/ping`)).json()) as { pid: unknown }).pid).toBeTypeOf('number')

    const reads = httpLoad(base, '/ping?delayMs=20')
    const writes = httpLoad(base, '/touch', 'POST', { delayMs: 50 })
    await sleep(300)
    const before = sys.sup
      .unit('web')
      .instances()
      .map((i) => i.pid)
    await sys.sup.restart('web')
    await sleep(300)
    const afterRestart = sys.sup
      .unit('web')
      .instances()
      .map((i) => i.pid)
    await sys.sup.deploy('web')
    await sleep(300)
    const afterDeploy = sys.sup
      .unit('web')
      .instances()
      .map((i) => i.pid)
    const r = await reads.stop()
    const w = await writes.stop()

    expect(r.failures).toEqual([])
    expect(w.failures).toEqual([])
    expect(r.ok).toBeGreaterThan(50)
    expect(w.ok).toBeGreaterThan(20)
    expect(afterRestart.some((p) => before.includes(p))).toBe(false)
    expect(afterDeploy.some((p) => afterRestart.includes(p))).toBe(false)
  })

  it('a crashing gateway instance is restarted while services keep serving', {
    timeout: 40_000,
  }, async () => {
    await using sys = await runSystem({
      name: 'adapters-crash',
      services: {
        pinger: { entry: './pinger.ts' },
        web: { entry: './web-gateway.ts', dependsOn: ['pinger'], listen: { port: 0 } },
      },
    })
    const base = `http://127.0.0.1:${portOf(sys.sup, 'web')}`
    const calls = startLoad(() => sys.client.call('pinger', 'ping', {}), 4)
    const first = sys.sup.unit('web').instances()[0]!
    first.kill('test')
    await until(() => sys.events.some((e) => e.type === 'crashed' && e.unit === 'web'), 'web crashed')
    await until(
      () => sys.sup.status().units.find((u) => u.name === 'web')!.instances[0]!.state === 'ready',
      'web restarted',
    )
    expect(sys.sup.unit('web').instances()[0]!.pid).not.toBe(first.pid)
    const res = await fetch(`${base}/ping`)
    expect(res.status).toBe(200)
    const c = await calls.stop()
    expect(c.failures).toEqual([])
    expect(c.ok).toBeGreaterThan(10)
    expect(sys.sup.status().units.find((u) => u.name === 'pinger')!.restarts).toBe(0)
  })
})
