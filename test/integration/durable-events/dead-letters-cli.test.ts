import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readControlState } from '../../../src/runtime/index.ts'
import { launchChromium } from '../../support/chromium.ts'
import { until } from '../runtime/support.ts'
import { type DeadLettersSystem, startDeadLettersSystem } from './dead-letters-system.ts'

// The operator's path end to end: a real `tessera up` on a nats-server with JetStream
// that admits only the per-unit logins the runtime generates, and the real CLI binary
// listing, showing, replaying and discarding dead letters through the control API, and the
// dashboard's Events page doing the same in Chromium.
let system: DeadLettersSystem
beforeAll(async () => {
  system = await startDeadLettersSystem('nats')
  system.breakBooks(true)
}, 120_000)
afterAll(() => system?.close(), 60_000)

const tessera = (...args: string[]) => system.tessera(...args)
const sell = (n: number) => system.sell(n)
const deadJson = () => system.deadJson()
const deadUntil = (n: number, what: string) => system.deadUntil(n, what)
const count = (name: string, line: string) => system.count(name, line)

describe('tessera events: dead letters of a running system', () => {
  it('lists a dead letter, shows it, and replays it to the failing service only, once', {
    timeout: 120_000,
  }, async () => {
    expect((await tessera('call', 'till.sell', '{"n":1}')).stdout.trim()).toBe('"sale-1"')
    await deadUntil(1, 'sale-1 dead-lettered by books')
    const [dead] = await deadJson()
    expect(dead).toMatchObject({
      key: 'books:sale-1',
      service: 'books',
      deliveries: 2,
      error: 'Error: books is broken',
      envelope: { id: 'sale-1', event: 'sale.made', service: 'till', payload: { n: 1 } },
    })
    await until(() => count('audit', 'handled sale-1') === 1, 'audit to handle sale-1', 30_000)

    const table = await tessera('events', 'dead')
    expect(table.code).toBe(0)
    const [header, row, ...rest] = table.stdout.trimEnd().split('\n')
    expect(header?.split(/\s{2,}/)).toEqual(['KEY', 'EVENT', 'SERVICE', 'DELIVERIES', 'ERROR', 'AGE'])
    expect(row?.split(/\s{2,}/).slice(0, 5)).toEqual([
      'books:sale-1',
      'sale.made',
      'books',
      '2',
      'Error: books is broken',
    ])
    expect(row).toMatch(/\d+[smhd]$/)
    expect(rest).toEqual([])
    expect((await tessera('events', 'dead', '--service', 'audit')).stdout).toBe('no dead letters of audit\n')

    const shown = await tessera('events', 'show', 'books:sale-1')
    expect(JSON.parse(shown.stdout)).toEqual(dead)

    // Fixed, then replayed: what was replayed and what was not found, exit 1 for the latter.
    system.breakBooks(false)
    const replayed = await tessera('events', 'replay', 'books:sale-1', 'books:sale-99')
    expect(replayed.stdout).toBe('replayed books:sale-1\nnot found books:sale-99\n1 replayed, 1 not found\n')
    expect(replayed.code).toBe(1)
    await until(() => count('books', 'handled sale-1') === 1, 'books to handle the replay', 30_000)
    expect(await deadJson()).toEqual([])
    expect((await tessera('events', 'dead')).stdout).toBe('no dead letters\n')

    // A later sale, handled by both, shows both consumers still flowing; sale-1 was
    // delivered to books three times in all (two failures, the replay) and to audit once.
    await sell(2)
    await until(
      () => count('books', 'handled sale-2') === 1 && count('audit', 'handled sale-2') === 1,
      'sale-2 handled by both',
      30_000,
    )
    expect(count('books', 'attempt sale-1')).toBe(3)
    expect(count('books', 'handled sale-1')).toBe(1)
    expect(count('audit', 'attempt sale-1')).toBe(1)
    expect(count('audit', 'handled sale-1')).toBe(1)
  })

  it('discards without delivering, and replays every dead letter of a service with --all', {
    timeout: 120_000,
  }, async () => {
    system.breakBooks(true)
    for (const n of [3, 4, 5]) await sell(n)
    expect((await deadUntil(3, 'sales 3..5 dead')).map((d) => d.key).sort()).toEqual([
      'books:sale-3',
      'books:sale-4',
      'books:sale-5',
    ])
    const discarded = await tessera('events', 'discard', 'books:sale-3')
    expect(discarded).toMatchObject({ stdout: 'discarded books:sale-3\n1 discarded, 0 not found\n', code: 0 })
    expect((await tessera('events', 'show', 'books:sale-3')).stderr).toBe(
      'tessera: NOT_FOUND: no dead letter books:sale-3\n',
    )

    system.breakBooks(false)
    const all = await tessera('events', 'replay', '--all', '--service', 'books')
    expect(all.code).toBe(0)
    expect(
      all.stdout
        .split('\n')
        .filter((l) => l.startsWith('replayed'))
        .sort(),
    ).toEqual(['replayed books:sale-4', 'replayed books:sale-5'])
    expect(all.stdout).toContain('2 replayed, 0 not found\n')
    await until(
      () => count('books', 'handled sale-4') === 1 && count('books', 'handled sale-5') === 1,
      'books to handle sales 4 and 5',
      30_000,
    )
    expect(await deadJson()).toEqual([])
    // The discarded one was never delivered again: its two failed attempts, no more.
    expect(count('books', 'attempt sale-3')).toBe(2)
    expect(count('books', 'handled sale-3')).toBe(0)
    await until(
      () => [3, 4, 5].every((n) => count('audit', `handled sale-${n}`) === 1),
      'audit to handle sales 3..5',
      30_000,
    )
  })

  it("answers bad input with a clear error (the control API's checks; the CLI's own are unit-tested)", {
    timeout: 60_000,
  }, async () => {
    expect(await tessera('events', 'show', 'no-colon')).toMatchObject({
      code: 1,
      stderr: 'tessera: BAD_REQUEST: "no-colon" is not a dead-letter key (<service>:<event id>)\n',
    })
    expect((await tessera('events', 'dead', '--service', 'No Such')).stderr).toMatch(
      /^tessera: BAD_REQUEST: service must be a service name/,
    )
  })
})

describe('the dashboard: dead letters', () => {
  it('lists them on the Events page, replays and discards behind a confirmation', {
    timeout: 120_000,
  }, async () => {
    system.breakBooks(true)
    for (const n of [6, 7]) await sell(n)
    await deadUntil(2, 'sales 6 and 7 dead')
    system.breakBooks(false)
    const state = await readControlState(system.stateDir)
    await using browser = await launchChromium()
    const page = await (await browser.newContext()).newPage()
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(err.message))
    await page.goto(`http://127.0.0.1:${state.port}/`)
    await page.getByLabel('Control token').fill(state.token)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Topology' }).waitFor()
    await page.getByRole('link', { name: 'Events' }).click()
    const table = page.getByRole('table', { name: 'Dead letters' })
    const row = (key: string) => table.getByRole('row', { name: new RegExp(key) })
    await row('books:sale-6').waitFor()
    expect(await row('books:sale-7').getByRole('cell').nth(1).textContent()).toBe('books')

    // Escape declines: nothing is replayed.
    await page.getByRole('button', { name: 'Replay books:sale-7' }).click()
    const ask7 = page.getByRole('dialog', { name: 'Replay books:sale-7?' })
    await ask7.waitFor()
    await page.keyboard.press('Escape')
    await ask7.waitFor({ state: 'detached' })

    await page.getByRole('button', { name: 'Replay books:sale-6' }).click()
    await page
      .getByRole('dialog', { name: 'Replay books:sale-6?' })
      .getByRole('button', { name: 'Replay' })
      .click()
    await row('books:sale-6').waitFor({ state: 'detached' })
    await until(() => count('books', 'handled sale-6') === 1, 'books to handle sale-6', 30_000)

    await page.getByRole('button', { name: 'Discard books:sale-7' }).click()
    await page
      .getByRole('dialog', { name: 'Discard books:sale-7?' })
      .getByRole('button', { name: 'Discard' })
      .click()
    await page.getByText('No dead letters.').waitFor()
    expect(await deadJson()).toEqual([])
    expect(count('books', 'attempt sale-7')).toBe(2)
    expect(count('books', 'handled sale-7')).toBe(0)
    expect(count('books', 'handled sale-6')).toBe(1)
    await until(
      () => count('audit', 'handled sale-6') + count('audit', 'handled sale-7') === 2,
      'audit to handle sales 6 and 7',
      30_000,
    )
    expect(problems).toEqual([])
  })
})
