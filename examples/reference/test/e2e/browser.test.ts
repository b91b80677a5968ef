/**
 * The web page in a real browser (headless Chromium driven by playwright-core) against
 * the reference system under the runtime: register, log out, log in, order, and the
 * notification arriving live over SSE. Needs /usr/bin/chromium (`.ci/run` installs it):
 * without it the test fails with the install command rather than skip.
 *
 * `SCREENSHOT=/tmp/page.png` keeps a screenshot of the final page.
 */
import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../../../../test/support/chromium.ts'
import { type E2eSystem, http, startE2e } from './harness.ts'

/** The page reacts within this (the machine may be busy with the other test files). */
const POLL = { timeout: 10_000, interval: 50 }

describe('the web page in Chromium', () => {
  let starting: Promise<E2eSystem> | undefined
  let system: E2eSystem | undefined
  let browser: (Browser & AsyncDisposable) | undefined
  beforeAll(async () => {
    starting = startE2e()
    // The browser starts while the services do.
    const [started, launched] = await Promise.allSettled([starting, launchChromium()])
    if (launched.status === 'fulfilled') browser = launched.value
    if (started.status === 'fulfilled') system = started.value
    if (launched.status === 'rejected') throw launched.reason
    if (started.status === 'rejected') throw started.reason
  }, 60_000)
  afterAll(async () => {
    try {
      await browser?.close()
    } finally {
      await (await starting?.catch(() => undefined))?.close()
    }
  }, 30_000)

  it('registers, logs in, places an order and shows its notification live', async () => {
    const { url } = system!
    const context = await browser!.newContext({ viewport: { width: 1280, height: 860 } })
    const page = await context.newPage()
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    try {
      await page.goto(`${url}/`)
      expect(await page.title()).toBe('Tessera tea shop')
      // The catalog loads for anyone.
      await page.getByRole('cell', { name: 'Stoneware mug' }).waitFor()
      const stockCell = page
        .getByRole('row', { name: /Stoneware mug/ })
        .getByRole('cell')
        .nth(2)
      const stockBefore = Number(await stockCell.textContent())

      // Register; a too-short password is refused with the field named, and focused.
      const email = `grace-${randomUUID().slice(0, 8)}@example.com`
      const signUp = page.getByRole('form', { name: 'Create an account' })
      await signUp.getByLabel('Name').fill('Grace')
      await signUp.getByLabel('Email').fill(email)
      await signUp.getByLabel('Password').fill('short')
      await signUp.getByRole('button', { name: 'Register' }).click()
      await expect.poll(() => signUp.getByRole('alert').textContent(), POLL).toContain('Password')
      await expect.poll(() => signUp.getByLabel('Password').getAttribute('aria-invalid'), POLL).toBe('true')
      await signUp.getByLabel('Password').fill('a long enough passphrase')
      await signUp.getByRole('button', { name: 'Register' }).click()
      await page.getByText(`Signed in as Grace (${email})`).waitFor()
      await page.getByRole('button', { name: 'Log out' }).click()

      // Log in again: a wrong password first.
      const logIn = page.getByRole('form', { name: 'Log in' })
      await logIn.getByLabel('Email').fill(email)
      await logIn.getByLabel('Password').fill('not the passphrase')
      await logIn.getByRole('button', { name: 'Log in' }).click()
      await expect.poll(() => logIn.getByRole('alert').textContent(), POLL).toBe('Wrong email or password.')
      await logIn.getByLabel('Password').fill('a long enough passphrase')
      await logIn.getByRole('button', { name: 'Log in' }).click()
      await page.getByText(`Signed in as Grace (${email})`).waitFor()
      const notifications = page.getByRole('list', { name: 'Notifications' })
      await notifications.getByText('Welcome, Grace!').waitFor()
      await expect.poll(() => page.locator('#live-state').textContent(), POLL).toBe('connected')
      // The refresh token is kept for this tab only; the access token is not stored.
      const stored = await page.evaluate(() => {
        const { sessionStorage, localStorage } = globalThis as any // the page's globals (no DOM types here)
        return { session: Object.keys(sessionStorage), local: localStorage.length }
      })
      expect(stored).toEqual({ session: ['tessera.refreshToken'], local: 0 })

      // Order two mugs; the notification arrives over the open event stream, marked new.
      const order = page.getByRole('form', { name: 'Place an order' })
      await order.getByLabel('Product').selectOption('mug-stoneware')
      await order.getByLabel('Quantity').fill('2')
      await order.getByRole('button', { name: 'Place order' }).click()
      await order.getByRole('status').getByText('Order placed: 2 × Stoneware mug, $37.00.').waitFor()
      const live = notifications.getByRole('listitem').filter({ hasText: /Your order .* was placed/ })
      await live.waitFor({ timeout: 10_000 })
      expect(await live.getAttribute('class')).toBe('live')
      await page.getByRole('list', { name: 'Your orders' }).getByText('2 × Stoneware mug').waitFor()
      await expect.poll(async () => Number(await stockCell.textContent()), POLL).toBe(stockBefore - 2)

      // What the page shows is what the API holds.
      const login = await http(url, 'POST', '/auth/login', {
        body: { email, password: 'a long enough passphrase' },
      })
      const orders = await http(url, 'GET', '/orders', { token: login.body.accessToken })
      expect(orders.body.items).toHaveLength(1)
      expect(await live.textContent()).toContain(orders.body.items[0].id)

      // A reload resumes the session from the refresh token (the access token was in memory only).
      await page.reload()
      await page.getByText(`Signed in as Grace (${email})`).waitFor()
      await page.getByRole('list', { name: 'Your orders' }).getByText('2 × Stoneware mug').waitFor()
      await notifications.getByText(/Your order .* was placed/).waitFor()

      await screenshot(page)
      expect(problems).toEqual([])
    } catch (err) {
      await screenshot(page, true)
      throw err
    } finally {
      await context.close()
    }
  }, 45_000)
})

/** Keeps a picture of the page: at `SCREENSHOT` when set, and in the temp dir on failure. */
async function screenshot(page: Page, failed = false): Promise<void> {
  const path = failed ? join(tmpdir(), `tessera-browser-failure-${Date.now()}.png`) : process.env.SCREENSHOT
  if (!path) return
  await page.screenshot({ path, fullPage: true }).catch(() => undefined)
  if (failed) process.stderr.write(`screenshot of the failing page: ${path}\n`)
}
