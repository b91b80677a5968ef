/**
 * The reference system end to end over HTTP only, on SQLite: every service instance its
 * own process under the runtime, the gateway in front, as `npm start` runs it.
 */
import { afterAll, beforeAll, describe, it } from 'vitest'
import { type E2eSystem, startE2e } from './harness.ts'
import { badInput, badTokens, mainFlow, quotesFailures, streamsEndOnLogout } from './scenarios.ts'

describe('the reference system over HTTP (SQLite)', () => {
  let starting: Promise<E2eSystem> | undefined
  let system: E2eSystem | undefined
  const current = () => {
    if (!system) throw new Error('the system did not start')
    return system
  }
  beforeAll(async () => {
    starting = startE2e()
    system = await starting
  }, 60_000)
  // Also when start-up timed out: wait for it, then stop what it started.
  afterAll(async () => {
    await (await starting?.catch(() => undefined))?.close()
  }, 30_000)

  it('registers, logs in, browses, orders, and sees the notification live and in the inbox', () =>
    mainFlow(current))
  it('refuses malformed JSON, wrong types and huge bodies with 4xx and writes nothing', () =>
    badInput(current))
  it('refuses missing, forged, expired and revoked tokens with 401 and writes nothing', () =>
    badTokens(current))
  it('ends an event stream when its token is logged out, and refuses a token in the URL', () =>
    streamsEndOnLogout(current))
  it(
    'keeps login and ordering working with quotes SIGKILLed and with its rates API hung',
    () => quotesFailures(current),
    40_000,
  )
})
