import { describe, expect, it } from 'vitest'
import { ErrorCodes } from './codes.ts'
import { isTesseraError, normalizeError, TesseraError } from './tessera-error.ts'

describe('TesseraError', () => {
  it('knows its HTTP status and whether a retry may help, from the code table', () => {
    expect(new TesseraError('NOT_FOUND', 'x').status).toBe(404)
    expect(new TesseraError('UNAVAILABLE', 'x').retryable).toBe(true)
    expect(new TesseraError('VALIDATION', 'x').retryable).toBe(false)
    for (const [code, row] of Object.entries(ErrorCodes)) {
      expect(new TesseraError(code as keyof typeof ErrorCodes, 'x').status).toBe(row.status)
    }
  })

  it('crosses the wire with code, message and data but no stack unless debugging', () => {
    const err = new TesseraError('CONFLICT', 'taken', { field: '/email' })
    expect(err.toWire()).toEqual({ code: 'CONFLICT', message: 'taken', data: { field: '/email' } })
    expect(err.toWire(true).stack).toContain('TesseraError')
    const back = TesseraError.fromWire(JSON.parse(JSON.stringify(err.toWire())))
    expect(back).toBeInstanceOf(TesseraError)
    expect([back.code, back.message, back.data]).toEqual(['CONFLICT', 'taken', { field: '/email' }])
  })

  it('turns an unknown code from a peer into INTERNAL', () => {
    const back = TesseraError.fromWire({ code: 'TEAPOT' as never, message: 'short and stout' })
    expect(back.code).toBe('INTERNAL')
  })

  it('normalises unknown throws to INTERNAL without their message, keeping the cause locally', () => {
    const original = new Error('db password is hunter2')
    const err = normalizeError(original)
    expect(err.code).toBe('INTERNAL')
    expect(err.message).not.toContain('hunter2')
    expect(err.cause).toBe(original)
    expect(err.toWire(false)).toEqual({ code: 'INTERNAL', message: 'internal error' })
    expect(normalizeError('a string').code).toBe('INTERNAL')
    const abort = new Error('aborted')
    abort.name = 'AbortError'
    expect(normalizeError(abort).code).toBe('CANCELLED')
  })

  it('passes TesseraErrors through unchanged', () => {
    const err = new TesseraError('FORBIDDEN', 'no')
    expect(normalizeError(err)).toBe(err)
    expect(isTesseraError(err, 'FORBIDDEN')).toBe(true)
    expect(isTesseraError(err, 'NOT_FOUND')).toBe(false)
  })
})
