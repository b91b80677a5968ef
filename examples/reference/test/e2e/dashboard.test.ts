/**
 * The runtime's dashboard in a real browser (headless Chromium driven by playwright-core)
 * on the reference system under the runtime: login (a wrong token refused), the topology,
 * killing an instance and its replacement, the metrics number, an order as one trace.
 * Screenshots go to `test-artifacts/dashboard/` (git-ignored). Needs /usr/bin/chromium.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../../../../test/support/chromium.ts'
import { orderAsOneTrace } from './dashboard-trace.ts'
import { type E2eSystem, http, startE2e } from './harness.ts'

const POLL = { timeout: 15_000, interval: 100 }
const ARTIFACTS = join(import.meta.dirname, '../../../../test-artifacts/dashboard')

describe('the dashboard in Chromium', () => {
  let starting: Promise<E2eSystem> | undefined
  let system: E2eSystem | undefined
  let browser: (Browser & AsyncDisposable) | undefined
  let context: BrowserContext | undefined
  let page: Page | undefined
  let base = ''
  let token = ''
  /** Every URL the page asked for, to prove the token never travels in one. */
  const requested: string[] = []
  const problems: string[] = []

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    starting = startE2e({ control: true })
    const [started, launched] = await Promise.allSettled([starting, launchChromium()])
    if (launched.status === 'fulfilled') browser = launched.value
    if (started.status === 'fulfilled') system = started.value
    if (launched.status === 'rejected') throw launched.reason
    if (started.status === 'rejected') throw started.reason
    const state = JSON.parse(readFileSync(join(system!.ref.supervisor.stateDir, 'control.json'), 'utf8'))
    base = `http://127.0.0.1:${state.port}`
    token = state.token
    context = await browser!.newContext({ viewport: { width: 1280, height: 900 } })
    page = await context.newPage()
    page.on('request', (r) => requested.push(r.url()))
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  }, 60_000)
  afterAll(async () => {
    try {
      await browser?.close()
    } finally {
      await (await starting?.catch(() => undefined))?.close()
    }
  }, 30_000)

  /** Runs a step; on failure keeps a screenshot of the page as it was. */
  const step = async (name: string, body: (p: Page) => Promise<void>) => {
    try {
      await body(page!)
      await page!.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
    } catch (err) {
      await page!.screenshot({ path: join(ARTIFACTS, `${name}-failed.png`), fullPage: true }).catch(() => {})
      throw err
    }
  }

  it('answers requests without a session with the login page or 401', async () => {
    const page = await fetch(`${base}/`, { redirect: 'manual' })
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toBe('/login')
    expect(await (await fetch(`${base}/login`)).text()).toContain('Control token')
    for (const path of ['/status', '/catalog', '/traces', '/logs', '/metrics'])
      expect((await fetch(`${base}${path}`)).status, path).toBe(401)
    expect((await fetch(`${base}/stop-instance`, { method: 'POST', body: '{}' })).status).toBe(401)
  })

  it('refuses a wrong token, logs in with the right one and shows every service', async () => {
    await step('login-refused', async (p) => {
      await p.goto(`${base}/`)
      expect(new URL(p.url()).pathname).toBe('/login')
      await p.getByLabel('Control token').fill('not-the-token')
      await p.getByRole('button', { name: 'Log in' }).click()
      await expect.poll(() => p.getByRole('alert').textContent(), POLL).toBe('That is not the control token.')
    })
    await step('topology', async (p) => {
      await p.getByLabel('Control token').fill(token)
      await p.getByRole('button', { name: 'Log in' }).click()
      await p.getByRole('heading', { name: 'Topology' }).waitFor()
      const units = system!.ref.supervisor.status().units.map((u) => u.name)
      expect(units).toEqual(
        expect.arrayContaining(['users', 'auth', 'catalog', 'orders', 'notifications', 'quotes', 'gateway']),
      )
      for (const unit of units) {
        await p.locator(`svg a.node[data-unit="${unit}"]`).waitFor()
        await p
          .getByRole('table', { name: 'Services' })
          .getByRole('link', { name: unit, exact: true })
          .waitFor()
      }
      // Every instance ready, shown as such.
      await expect.poll(() => p.locator('svg .dot:not(.ready)').count(), POLL).toBe(0)
      // The gateway's calls to orders drawn as an edge (from the config before any traffic).
      expect(await p.locator('svg path.edge').count()).toBeGreaterThanOrEqual(6)
    })
    // The session cookie is HttpOnly: the page's scripts cannot read it.
    expect(await page!.evaluate(() => (globalThis as any).document.cookie)).toBe('')
  })

  it('kills an instance from the service page: shown down, then a replacement ready', async () => {
    await step('kill-instance', async (p) => {
      // By keyboard only: the topology's node is a link, the Kill button a button.
      await p.locator('svg a.node[data-unit="catalog"]').focus()
      await p.keyboard.press('Enter')
      await p.getByRole('heading', { name: 'catalog', level: 1 }).waitFor()
      const row = p
        .getByRole('table', { name: 'Instances of catalog' })
        .getByRole('row', { name: /catalog#1/ })
      await expect.poll(() => row.getByRole('cell').nth(0).textContent(), POLL).toBe('ready')
      const pidBefore = Number(await row.getByRole('cell').nth(1).textContent())
      const restarts = () => system!.ref.supervisor.status().units.find((u) => u.name === 'catalog')!.restarts
      const restartsBefore = restarts()
      expect(pidBefore).toBeGreaterThan(0)
      // The action schemas are there too.
      await p
        .getByRole('table', { name: 'Actions of catalog' })
        .getByRole('rowheader', { name: /^get/ })
        .waitFor()

      const kill = p.getByRole('button', { name: 'Kill catalog#1' })
      const dialog = p.getByRole('dialog', { name: 'Kill catalog#1?' })
      // Escape declines: nothing happens and focus is back on the button.
      await kill.focus()
      await p.keyboard.press('Enter')
      await dialog.waitFor()
      await p.keyboard.press('Escape')
      await dialog.waitFor({ state: 'detached' })
      expect(
        await p.evaluate(() => (globalThis as any).document.activeElement.getAttribute('aria-label')),
      ).toBe('Kill catalog#1')
      await p.keyboard.press('Enter')
      await dialog.waitFor()
      // Focus is in the dialog (on the safe answer) and stays there.
      expect(await p.evaluate(() => (globalThis as any).document.activeElement.textContent)).toBe('Cancel')
      await p.keyboard.press('Tab')
      await p.keyboard.press('Tab')
      expect(await p.evaluate(() => (globalThis as any).document.activeElement.textContent)).toBe('Cancel')
      await p.keyboard.press('Tab') // to Kill
      await p.keyboard.press('Enter')

      const log = p.getByRole('log')
      await log.getByText('catalog: catalog#1: exited (SIGKILL)').waitFor({ timeout: 15_000 })
      await log.getByText(/catalog: catalog#1: replacement ready \(pid \d+\)/).waitFor({ timeout: 15_000 })
      await log.getByText('done').waitFor()
      await expect
        .poll(async () => Number(await row.getByRole('cell').nth(1).textContent()), POLL)
        .not.toBe(pidBefore)
      await expect.poll(() => row.getByRole('cell').nth(0).textContent(), POLL).toBe('ready')
      expect(restarts()).toBe(restartsBefore + 1)
    })
  })

  it('shows a number from the metrics endpoint', async () => {
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    expect(metrics.status).toBe(200)
    expect(metrics.headers.get('content-type')).toContain('text/plain')
    await http(system!.url, 'GET', '/products')
    await step('metrics-number', async (p) => {
      await p.getByRole('navigation').getByRole('link', { name: 'Topology' }).click()
      const handled = p.locator('#calls-handled')
      await expect.poll(async () => Number(await handled.textContent()), POLL).toBeGreaterThan(0)
    })
  })

  it('shows an order placed through the gateway as one trace across gateway, orders, users and catalog', async () => {
    await step('trace', (p) => orderAsOneTrace(p, system!.url))
    // The topology now draws its edges from the traces too.
    await step('topology-with-traces', async (p) => {
      await p.getByRole('navigation').getByRole('link', { name: 'Topology' }).click()
      await expect.poll(() => p.locator('main p.note').textContent(), POLL).toContain('recent traces')
    })
  })

  it("computes rate, error rate and p99 from two scrapes (the page's own module)", async () => {
    // As a string: vitest would rewrite an import() in a function it sees.
    const result = await page!.evaluate(`(async () => {
      const m = await import('/dashboard/metrics.js')
      const scrape = (ok, failed, fast, slow) => m.parsePrometheus([
        '# HELP tessera_calls_total Calls made.',
        'tessera_calls_total{caller="orders",service="users",action="get",code="OK",instance="orders#1"} ' + ok,
        'tessera_calls_total{caller="orders",service="users",action="get",code="NOT_FOUND",instance="orders#1"} ' + failed,
        'tessera_call_duration_seconds_bucket{caller="orders",service="users",action="get",le="0.005"} ' + fast,
        'tessera_call_duration_seconds_bucket{caller="orders",service="users",action="get",le="0.25"} ' + (fast + slow),
        'tessera_call_duration_seconds_bucket{caller="orders",service="users",action="get",le="+Inf"} ' + (fast + slow),
        'tessera_handled_total{service="users",action="get",code="OK"} ' + ok,
      ].join('\\n'))
      const s = m.summarize(scrape(100, 0, 100, 0), scrape(280, 20, 295, 5), 2)
      return { edge: s.edges.get('orders>users'), handled: s.handled }
    })()`)
    // 200 calls in 2 s, 20 failed; 5 of 200 (2.5%) took over 5 ms, so p99 is in the 250 ms bucket.
    expect(result).toEqual({ edge: { total: 300, rate: 100, errorRate: 0.1, p99Ms: 250 }, handled: 280 })
  })

  it("orders the spans of a trace as a tree and summarizes it (the page's own module)", async () => {
    const result = await page!.evaluate(`(async () => {
      const m = await import('/dashboard/trace-model.js')
      const span = (spanId, parentSpanId, service, startMs, durationMs, status = 'ok') =>
        ({ traceId: 't', spanId, parentSpanId, name: service + ' ' + spanId, kind: 'server', service, unit: service, startMs, durationMs, status })
      const spans = [
        span('c', 'b', 'users', 12, 3),
        span('a', undefined, 'gateway', 0, 30),
        span('d', 'b', 'catalog', 16, 5, 'error'),
        span('b', 'a', 'orders', 10, 15),
      ]
      return {
        order: m.treeOrder(spans).map((x) => x.span.spanId + x.depth),
        summary: m.summaries({ traces: [{ traceId: 't', spans }] })[0],
        listed: m.summaries({ traces: [{ traceId: 'u', name: 'GET /x', startMs: 1, durationMs: 2, spans: 3, services: ['gateway'], status: 'ok' }] })[0],
      }
    })()`)
    expect(result).toEqual({
      order: ['a0', 'b1', 'c2', 'd2'],
      summary: expect.objectContaining({
        traceId: 't',
        name: 'gateway a',
        services: ['users', 'gateway', 'catalog', 'orders'], // in the order the spans came
        durationMs: 30,
        status: 'error',
        spanCount: 4,
      }),
      listed: expect.objectContaining({ traceId: 'u', name: 'GET /x', spanCount: 3, services: ['gateway'] }),
    })
  })

  it('scales a unit from the operate page, its progress shown live', async () => {
    await step('scale', async (p) => {
      await p.getByRole('navigation').getByRole('link', { name: 'Operate' }).click()
      await p.getByLabel('Instance count of quotes').fill('2')
      await p.getByRole('button', { name: 'Scale quotes' }).click()
      await p
        .getByRole('dialog', { name: 'Scale quotes to 2?' })
        .getByRole('button', { name: 'Scale' })
        .click()
      const entry = p.getByRole('log').getByRole('listitem').filter({ hasText: 'Scale quotes to 2?' })
      await entry.getByText('done').waitFor({ timeout: 15_000 })
      const quotes = p.getByRole('table', { name: 'Instances of quotes' })
      await expect
        .poll(
          () =>
            quotes
              .getByRole('row', { name: /quotes#2/ })
              .getByRole('cell')
              .nth(0)
              .textContent(),
          POLL,
        )
        .toBe('ready')
      expect(system!.ref.supervisor.status().units.find((u) => u.name === 'quotes')!.instances).toHaveLength(
        2,
      )
    })
  })

  it('shows the logs and traces pages, with data or saying there is none yet', async () => {
    await step('logs', async (p) => {
      await p.getByRole('navigation').getByRole('link', { name: 'Logs' }).click()
      await p.getByRole('heading', { name: 'Logs', level: 1 }).waitFor()
      await p.getByLabel('Unit').selectOption('orders')
      // Lines of orders, or the message that this runtime has no logs endpoint.
      await expect
        .poll(async () => {
          const lines = await p.getByRole('list', { name: 'Log lines' }).getByRole('listitem').count()
          const note =
            (await p
              .getByRole('status')
              .filter({ hasText: /line|logs/ })
              .textContent()) ?? ''
          return lines > 0 || /No logs endpoint|No lines match/.test(note)
        }, POLL)
        .toBe(true)
    })
    await step('traces', async (p) => {
      await p.getByRole('navigation').getByRole('link', { name: 'Traces' }).click()
      await p.getByRole('form', { name: 'Search traces' }).waitFor()
      await expect
        .poll(async () => (await p.locator('main p[role="status"]').textContent()) ?? '', POLL)
        .toMatch(/trace\(s\)|No traces yet/)
    })
  })

  it('never puts the token in a URL, and reads well on a phone', async () => {
    await step('phone', async (p) => {
      await p.setViewportSize({ width: 390, height: 844 })
      await p.getByRole('navigation').getByRole('link', { name: 'Operate' }).click()
      await p.getByRole('table', { name: 'Units' }).waitFor()
      const overflow = await p.evaluate(() => {
        const d = (globalThis as any).document.documentElement
        return d.scrollWidth - d.clientWidth
      })
      expect(overflow).toBeLessThanOrEqual(0)
    })
    expect(requested.length).toBeGreaterThan(10)
    expect(requested.filter((u) => u.includes(token))).toEqual([])
    expect(problems).toEqual([])
  })
})
