import { describe, expect, it } from 'vitest'
import { jetStreamUnready, whenJetStreamReady } from './jetstream-ready.ts'

const natsError = (code: string, errCode?: number) =>
  Object.assign(new Error(code), { code, ...(errCode ? { api_error: { err_code: errCode } } : {}) })

describe('whenJetStreamReady', () => {
  it('tells not-ready failures from the rest', () => {
    expect(jetStreamUnready(natsError('503'))).toBe(true)
    expect(jetStreamUnready(natsError('TIMEOUT'))).toBe(true)
    expect(jetStreamUnready(natsError('500', 10008))).toBe(true)
    expect(jetStreamUnready(natsError('400', 10058))).toBe(false) // stream name in use
    expect(jetStreamUnready(new Error('bad bucket name'))).toBe(false)
    expect(jetStreamUnready(undefined)).toBe(false)
  })

  it('tries again while JetStream is not ready, telling each wait, until it answers', async () => {
    const failures = [natsError('503'), natsError('TIMEOUT')]
    const waits: string[] = []
    const result = await whenJetStreamReady(
      async () => {
        const next = failures.shift()
        if (next) throw next
        return 'bucket'
      },
      { withinMs: 5_000, retryMs: 1, onWait: (err) => waits.push(err.message) },
    )
    expect(result).toBe('bucket')
    expect(waits).toEqual(['503', 'TIMEOUT'])
  })

  it('passes on any other failure at once, and a not-ready one once the time is up', async () => {
    let tries = 0
    const other = whenJetStreamReady(
      async () => {
        tries++
        throw natsError('400', 10058)
      },
      { withinMs: 5_000, retryMs: 1 },
    )
    await expect(other).rejects.toThrow('400')
    expect(tries).toBe(1)
    tries = 0
    const never = whenJetStreamReady(
      async () => {
        tries++
        throw natsError('503')
      },
      { withinMs: 30, retryMs: 5 },
    )
    await expect(never).rejects.toThrow('503')
    expect(tries).toBeGreaterThan(1)
  })
})
