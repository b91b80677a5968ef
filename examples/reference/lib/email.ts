import { TesseraError } from 'tessera/errors'
import { Email } from './schemas.ts'

const PATTERN = new RegExp(Email.pattern ?? '')
const MAX_LENGTH = Email.maxLength ?? 254

/**
 * The one spelling of an email address that accounts are stored, compared and keyed
 * under: NFKC, then lowercase, then NFKC again (lowercasing can leave a sequence NFKC
 * would compose). So `Boss@Example.com`, `BOSS@example.com` and `Ｂoss@example.com`
 * (fullwidth B) are one address, and one account. Lowercasing the local part too is a
 * choice: no mail provider in practice hands `Ada@` and `ada@` to two people.
 *
 * NFKC can turn an input that passed the schema into one that does not (a fullwidth `＠`
 * becomes a second `@`; one character may expand to many), so the result is checked
 * again: VALIDATION naming `/email`, as the schema would.
 *
 * @example
 * normalizeEmail('Boss@Example.com') // 'boss@example.com'
 */
export function normalizeEmail(email: string): string {
  const folded = email.normalize('NFKC').toLowerCase().normalize('NFKC')
  if (folded.length > MAX_LENGTH || !PATTERN.test(folded)) {
    const message = 'is not a valid email address once normalized (NFKC, lowercase)'
    throw new TesseraError('VALIDATION', `invalid input/email: ${message}`, {
      where: 'input',
      errors: [{ path: '/email', message }],
    })
  }
  return folded
}
