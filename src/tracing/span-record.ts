/**
 * A finished span as the runtime keeps and serves it (plain JSON, so it crosses IPC
 * and the control API as is). Times are epoch milliseconds (fractional).
 */
export interface SpanRecord {
  traceId: string
  spanId: string
  parentSpanId?: string
  /** The W3C `tracestate` the trace came with, carried through untouched. */
  traceState?: string
  name: string
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer'
  /** The Tessera service the span belongs to (the callee of a server span, the caller of a client one). */
  service: string
  /** The process's service name (the runtime unit). */
  unit: string
  startMs: number
  durationMs: number
  status: 'ok' | 'error'
  /** The error code when `status` is error. */
  code?: string
  requestId?: string
  attributes: Record<string, string | number | boolean>
  events: { name: string; timeMs: number; attributes: Record<string, string | number | boolean> }[]
}
