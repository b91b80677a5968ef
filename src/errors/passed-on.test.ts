import { describe, expect, it } from 'vitest'
import { answeredErrorData, isCallFailure, markCallFailure, TesseraError } from './index.ts'

describe('errors passed on by a handler', () => {
  it('marks the failures of outgoing calls only', () => {
    const own = new TesseraError('CONFLICT', 'taken')
    const theirs = markCallFailure(new TesseraError('UNAVAILABLE', 'no instance of users is available'))
    expect(isCallFailure(theirs)).toBe(true)
    expect(isCallFailure(own)).toBe(false)
    expect(isCallFailure('UNAVAILABLE')).toBe(false)
    expect(isCallFailure(undefined)).toBe(false)
  })

  it('answers without a deeper delivered flag, and marks what was passed on upstream', () => {
    const deeper = { service: 'users', action: 'get', delivered: false }
    expect(answeredErrorData(deeper, true)).toEqual({ service: 'users', action: 'get', upstream: true })
    expect(answeredErrorData(deeper, false)).toEqual({ service: 'users', action: 'get' })
    expect(answeredErrorData({ delivered: false }, false)).toBeUndefined()
    expect(answeredErrorData(undefined, true)).toEqual({ upstream: true })
    const own = { field: '/email' }
    expect(answeredErrorData(own, false)).toBe(own)
    expect(deeper).toEqual({ service: 'users', action: 'get', delivered: false }) // not altered
  })
})
