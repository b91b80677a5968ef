import { describe, expect, it } from 'vitest'
import { TesseraError } from '../errors/index.ts'
import { fallback } from './fallback.ts'
import { makeCall } from './testing/make-call.ts'

const down = async () => {
  throw new TesseraError('UNAVAILABLE', 'down')
}

describe('fallback', () => {
  it('answers with the fallback result when the call fails', async () => {
    const seen: unknown[] = []
    const call = makeCall({
      fallback: (err) => {
        seen.push(err)
        return { price: null }
      },
    })
    expect(await fallback()(call, down)).toEqual({ price: null })
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ code: 'UNAVAILABLE', message: 'down' })
  })

  it('waits for a fallback that returns a promise', async () => {
    const call = makeCall({ fallback: async () => 'cached' })
    expect(await fallback()(call, down)).toBe('cached')
  })

  it('hands the fallback a TesseraError even for an unknown throw', async () => {
    let seen: unknown
    const call = makeCall({
      fallback: (err) => {
        seen = err
        return 'ok'
      },
    })
    await fallback()(call, async () => {
      throw new Error('raw')
    })
    expect(seen).toBeInstanceOf(TesseraError)
    expect(seen).toMatchObject({ code: 'INTERNAL' })
  })

  it('leaves successful calls alone and never calls the fallback', async () => {
    let called = false
    const call = makeCall({
      fallback: () => {
        called = true
      },
    })
    expect(await fallback()(call, async () => 'real')).toBe('real')
    expect(called).toBe(false)
  })

  it('passes the error through untouched when the call has no fallback', async () => {
    const boom = new Error('raw')
    await expect(
      fallback()(makeCall(), async () => {
        throw boom
      }),
    ).rejects.toBe(boom)
  })

  it('surfaces a TesseraError thrown by the fallback as it is', async () => {
    const own = new TesseraError('NOT_FOUND', 'no cached value')
    const call = makeCall({
      fallback: () => {
        throw own
      },
    })
    await expect(fallback()(call, down)).rejects.toBe(own)
  })

  it('normalises anything else the fallback throws or rejects with to INTERNAL', async () => {
    const throwing = makeCall({
      fallback: () => {
        throw new Error('secret detail')
      },
    })
    await expect(fallback()(throwing, down)).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'internal error',
    })
    const rejecting = makeCall({ fallback: () => Promise.reject('nope') })
    await expect(fallback()(rejecting, down)).rejects.toMatchObject({ code: 'INTERNAL' })
  })
})
