import { formatResult, runConformance } from '../../conformance/index.ts'
import { TesseraError } from '../../errors/index.ts'
import { out } from '../output.ts'

/**
 * `tessera conformance --transport socket|nats [--nats-url url] [--identity] -- <command…>`: starts the
 * node under test with `command` and the conformance environment (docs/protocol.md §9),
 * prints one line per rule (PASS/FAIL, its section, what was seen) and exits 1 when any
 * rule failed.
 */
export async function conformance(
  command: string[],
  options: { transport: string; natsUrl?: string; identity?: boolean },
): Promise<void> {
  if (options.transport !== 'socket' && options.transport !== 'nats') {
    throw new TesseraError('BAD_REQUEST', `--transport must be socket or nats, got ${options.transport}`)
  }
  const results = await runConformance({
    transport: options.transport,
    command,
    identity: options.identity === true,
    ...(options.natsUrl === undefined ? {} : { natsUrl: options.natsUrl }),
    onResult: (r) => out.line(formatResult(r)),
  })
  const failed = results.filter((r) => !r.ok).length
  out.line(`${results.length - failed} passed, ${failed} failed (${options.transport})`)
  if (failed > 0) process.exitCode = 1
}
