/**
 * The NATS subject token of a node id or unit (docs/protocol.md §6.1), written here from
 * the document rather than imported from the transport, so the runner checks a node
 * against the contract and not against Tessera's own code: every UTF-8 byte outside
 * `[A-Za-z0-9_-]` becomes `%` and two upper-case hex digits; the empty id is `%`.
 *
 * @example
 * subjectToken('py+1') // 'py%2B1'
 */
export function subjectToken(id: string): string {
  if (id === '') return '%'
  let out = ''
  for (const b of Buffer.from(id, 'utf8')) {
    const plain =
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      b === 0x5f ||
      b === 0x2d
    out += plain ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}
