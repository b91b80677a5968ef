/**
 * Deadline arithmetic. A deadline is an absolute time on the local clock (ms). It
 * crosses process boundaries as the time *remaining*, never as a timestamp, so clock
 * skew between machines cannot stretch or cut it; the receiver re-anchors it on its
 * own clock. Nested calls take the earlier of the parent's deadline and their own
 * timeout, so deadlines only ever shrink along a call chain.
 */
export function nestedDeadline(
  now: number,
  parentDeadline: number | undefined,
  timeout: number | undefined,
): number {
  const own = timeout === undefined ? Number.POSITIVE_INFINITY : now + Math.max(0, timeout)
  return parentDeadline === undefined ? own : Math.min(parentDeadline, own)
}

/** Time left until `deadline`, never negative; what goes on the wire. */
export function remainingMs(now: number, deadline: number): number {
  return Math.max(0, deadline - now)
}

/** Re-anchors a received remaining budget on the local clock. */
export function deadlineFromRemaining(now: number, remaining: number): number {
  return now + Math.max(0, remaining)
}
