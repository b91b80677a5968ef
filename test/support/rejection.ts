import { TesseraError } from '../../src/errors/index.ts'

/** Awaits a promise that must fail with a TesseraError and returns that error; anything else fails the test. */
export async function rejection(p: Promise<unknown>): Promise<TesseraError> {
  try {
    await p
  } catch (err) {
    if (err instanceof TesseraError) return err
    throw err
  }
  throw new Error('expected the call to fail')
}
