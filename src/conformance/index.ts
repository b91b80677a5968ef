/**
 * The protocol conformance runner: tests a node written in any language against
 * docs/protocol.md over the socket or the NATS transport (`tessera conformance`).
 */
export {
  CONFORMANCE_ACTIONS,
  CONFORMANCE_ENV,
  CONFORMANCE_SERVICE,
  ODD_NODE_ID,
  PROBE_SERVICE,
} from './environment.ts'
export { formatResult, type RuleResult } from './rule-result.ts'
export { type ConformanceOptions, runConformance } from './run-conformance.ts'
export { subjectToken } from './subject-token.ts'
