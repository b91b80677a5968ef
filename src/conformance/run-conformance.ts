import { TesseraError } from '../errors/index.ts'
import { runNatsIdentityRules } from './nats-identity.ts'
import { runNatsRules } from './nats-rules.ts'
import { Results, type RuleResult } from './rule-result.ts'
import { runSocketIdentityRules } from './socket-identity.ts'
import { runSocketRules } from './socket-rules.ts'

export interface ConformanceOptions {
  transport: 'socket' | 'nats'
  /** The node under test's command line, argv form (run without a shell). */
  command: string[]
  /**
   * Also run the identity rules (socket §4.2, NATS §6.5, both §5.5), starting the node a
   * second time with a credential (`TESSERA_CONFORMANCE_CREDENTIAL`). Default false.
   */
  identity?: boolean
  /** NATS: the server the node and the runner meet on. Default nats://127.0.0.1:4222. */
  natsUrl?: string
  /** Told of each rule as soon as it is decided (the CLI prints it). */
  onResult?: (result: RuleResult) => void
}

/**
 * Tests a node (of any language) against docs/protocol.md: starts it with `command` and
 * the conformance environment (§9), plays its peer with raw frames or raw NATS messages,
 * and resolves with one result per rule once the node is stopped again. A rule that
 * fails does not stop the run unless later rules depend on it (no handshake, no entry).
 * Rejects with BAD_REQUEST for bad options and UNAVAILABLE when the NATS server cannot
 * be reached; a node that fails to start is a failed rule, not a rejection.
 *
 * @example
 * const results = await runConformance({ transport: 'socket', command: ['python3', 'node.py'] })
 * if (results.some((r) => !r.ok)) process.exitCode = 1
 */
export async function runConformance(options: ConformanceOptions): Promise<RuleResult[]> {
  if (options.transport !== 'socket' && options.transport !== 'nats') {
    throw new TesseraError(
      'BAD_REQUEST',
      `conformance: transport must be socket or nats, got ${String(options.transport)}`,
    )
  }
  if (options.command.length === 0) {
    throw new TesseraError(
      'BAD_REQUEST',
      'conformance: no command to start the node under test (give it after --)',
    )
  }
  const results = new Results(options.onResult)
  if (options.transport === 'socket') {
    await runSocketRules(options.command, results)
    if (options.identity) await runSocketIdentityRules(options.command, results)
  } else {
    const url = options.natsUrl ?? 'nats://127.0.0.1:4222'
    try {
      await runNatsRules(options.command, url, results)
      if (options.identity) await runNatsIdentityRules(options.command, url, results)
    } catch (err) {
      if (err instanceof TesseraError) throw err
      const code = (err as { code?: string }).code
      if (code === 'CONNECTION_REFUSED' || (err as Error).message?.includes('CONNECTION_REFUSED'))
        throw new TesseraError('UNAVAILABLE', `conformance: no NATS server answers at ${url}`)
      throw err
    }
  }
  return results.all
}
