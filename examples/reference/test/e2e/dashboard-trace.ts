/** The dashboard's trace check (dashboard.test.ts), in a file of its own: a test file may not export. */
import { randomUUID } from 'node:crypto'
import type { Page } from 'playwright-core'
import { expect } from 'vitest'
import { http, register } from './harness.ts'

const POLL = { timeout: 15_000, interval: 100 }

/**
 * The body of the trace test (see the it.todo above): an order placed through the gateway
 * with a known request id is found by it on the traces page, and its waterfall spans at
 * least gateway, orders, users and catalog.
 */
export async function orderAsOneTrace(p: Page, gatewayUrl: string): Promise<void> {
  const ada = await register(gatewayUrl, 'Ada')
  const requestId = `dash-${randomUUID()}`
  const placed = await http(gatewayUrl, 'POST', '/orders', {
    token: ada.accessToken,
    headers: { 'x-request-id': requestId },
    body: { idempotencyKey: randomUUID(), items: [{ productId: 'mug-stoneware', quantity: 1 }] },
  })
  expect(placed.status).toBe(200)
  await p.getByRole('navigation').getByRole('link', { name: 'Traces' }).click()
  await p.getByLabel('Request id').fill(requestId)
  await p.getByRole('button', { name: 'Search' }).click()
  const row = p.getByRole('table', { name: 'Traces' }).getByRole('row').filter({ hasText: requestId })
  await expect.poll(() => row.count(), POLL).toBe(1)
  await row.getByRole('link').click()
  const spans = p.getByRole('table', { name: 'Spans' })
  await spans.waitFor()
  const services = new Set(await spans.locator('tbody tr td:nth-child(2)').allTextContents())
  for (const s of ['gateway', 'orders', 'users', 'catalog']) expect(services).toContain(s)
}
