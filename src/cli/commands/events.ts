import { TesseraError } from '../../errors/index.ts'
import { type ContractMismatch, controlClient, type DeadLetterOutcome } from '../../runtime/index.ts'
import type { DeadEvent } from '../../transport/index.ts'
import { out } from '../output.ts'
import { controlState, type StateOptions } from '../state.ts'

const client = async (options: StateOptions) => controlClient(await controlState(options))

/** `tessera events dead`: a table of dead letters (key, event, service, deliveries, error, age), or `--json`. */
export async function deadList(options: StateOptions & { service?: string; json?: boolean }): Promise<void> {
  const dead = await (await client(options)).dead(options.service)
  if (options.json) return out.line(JSON.stringify(dead, null, 2))
  if (dead.length === 0) return out.line(`no dead letters${options.service ? ` of ${options.service}` : ''}`)
  out.table(deadTable(dead, Date.now()))
}

/** The dead-letter table: a header, then one line per dead letter; errors cut to one short line. */
export function deadTable(dead: readonly DeadEvent[], now: number): string[][] {
  const rows = [['KEY', 'EVENT', 'SERVICE', 'DELIVERIES', 'ERROR', 'AGE']]
  for (const d of dead)
    rows.push([
      d.key,
      d.envelope.event,
      d.service,
      String(d.deliveries),
      oneLine(d.error, 60),
      formatAge(now - d.at),
    ])
  return rows.map((row) => row.map((cell) => cell || '-'))
}

/** `tessera events show <key>`: the dead letter as JSON (envelope, service, deliveries, error, when). */
export async function deadShow(key: string, options: StateOptions): Promise<void> {
  const dead = await (await client(options)).deadEvent(key)
  out.line(JSON.stringify(dead, null, 2))
}

/**
 * `tessera events replay <key...>` or `--all [--service S]`: each dead letter delivered
 * again to the service that failed it, only. Prints what was replayed and what was not
 * found; exits 1 if a key named no dead letter.
 */
export async function deadReplay(
  keys: string[],
  options: StateOptions & { service?: string; all?: boolean },
): Promise<void> {
  if (options.all && keys.length > 0) throw new TesseraError('BAD_REQUEST', 'give keys or --all, not both')
  if (!options.all && keys.length === 0)
    throw new TesseraError(
      'BAD_REQUEST',
      'give the keys to replay, or --all (with --service S, that service’s)',
    )
  if (!options.all && options.service)
    throw new TesseraError('BAD_REQUEST', '--service selects with --all; keys already name their service')
  const c = await client(options)
  const outcome = await c.replay(
    options.all ? { all: true, ...(options.service ? { service: options.service } : {}) } : { keys },
  )
  report(
    'replayed',
    outcome,
    options.all ? `no dead letters${options.service ? ` of ${options.service}` : ''}` : '',
  )
}

/** `tessera events discard <key...>`: removes dead letters without delivering them. */
export async function deadDiscard(keys: string[], options: StateOptions): Promise<void> {
  report('discarded', await (await client(options)).discard(keys), '')
}

function report(verb: string, outcome: DeadLetterOutcome, none: string): void {
  for (const key of outcome.done) out.line(`${verb} ${key}`)
  for (const key of outcome.notFound) out.line(`not found ${key}`)
  if (outcome.done.length === 0 && outcome.notFound.length === 0 && none) out.line(none)
  out.line(`${outcome.done.length} ${verb}, ${outcome.notFound.length} not found`)
  if (outcome.notFound.length > 0) process.exitCode = 1
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

/** 42s, 5m, 3h, 2d: the largest whole unit. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m`
  if (s < 86_400) return `${Math.floor(s / 3600)}h`
  return `${Math.floor(s / 86_400)}d`
}

/**
 * `tessera events contracts`: instances that joined without a deploy with a contract that
 * breaks the running version's (newest last), each with its diff; exit 1 if there is one.
 */
export async function contractMismatches(options: StateOptions & { json?: boolean }): Promise<void> {
  const seen = (await (await client(options)).run('contracts', {})) as ContractMismatch[]
  if (options.json) out.line(JSON.stringify(seen, null, 2))
  else if (seen.length === 0) out.line('no instance joined with a breaking contract')
  for (const m of options.json ? [] : seen) {
    const who = m.own ? 'own instance' : 'not started by this runtime'
    out.line(
      `${new Date(m.at).toISOString()} ${m.node} (${who}): ${m.service} ${m.version} breaks ${m.runningVersion}`,
    )
    out.line(m.text)
  }
  if (seen.length > 0) process.exitCode = 1
}
