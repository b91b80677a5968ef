import { randomUUID } from 'node:crypto'
import type { Kysely, Migration, Transaction } from 'kysely'

/** The outbox table, to merge into a service's database type. */
export interface OutboxTable {
  outbox: {
    /** The event id: `Nats-Msg-Id` on the stream and `ctx.eventId` for handlers. */
    id: string
    event: string
    /** The payload as JSON. */
    payload: string
    created_at: string
    /** Publish order: µs since epoch, strictly increasing within a process (rows of one ms keep their order). */
    seq: number
    /** When the relay saw it stored; null until then. */
    sent_at: string | null
  }
}

/**
 * The migration that adds the outbox table; give it a name after the service's own
 * migrations (they apply in name order), e.g. `'0100-outbox': outboxMigration`.
 */
export const outboxMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('outbox')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('sent_at', 'text')
      .execute()
    await db.schema.createIndex('outbox_unsent').on('outbox').columns(['sent_at', 'seq']).execute()
  },
}

/**
 * Writes one event into the outbox inside `trx`, the transaction that writes the data
 * it announces: both commit or neither does. Returns the event id. Nothing is sent here;
 * the relay publishes it after the commit.
 *
 * @example
 * await db.transaction().execute(async (trx) => {
 *   await trx.insertInto('orders').values(row).execute()
 *   await writeOutbox(trx, 'order.placed', { orderId: row.id })
 * })
 * relay.kick()
 */
export async function writeOutbox(
  trx: Transaction<any> | Kysely<any>,
  event: string,
  payload: unknown,
  id: string = randomUUID(),
): Promise<string> {
  await trx
    .insertInto('outbox')
    .values({
      id,
      event,
      payload: JSON.stringify(payload),
      created_at: new Date().toISOString(),
      seq: nextSeq(),
      sent_at: null,
    })
    .execute()
  return id
}

let lastSeq = 0
/** µs since epoch, never the same twice in this process. */
function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1000)
  return lastSeq
}

export interface OutboxRelayOptions {
  /** The service's open database (a thunk: it opens in `started`). */
  db: () => Kysely<any>
  /** Publishes one row; resolves once it is stored (a durable `emit` with `{ eventId: id }`). */
  publish: (event: string, payload: unknown, id: string) => Promise<void>
  /** How often to look for unsent rows besides `kick`, in ms. Default 1000. */
  intervalMs?: number
  /** Rows per pass. Default 100. */
  batch?: number
  /** Told of a pass that failed (the rows stay unsent and are tried again). */
  onError?: (err: unknown) => void
}

export interface OutboxRelay {
  /** Runs a pass soon (after a commit), or once more after the pass running now. */
  kick(): void
  /** One pass now; resolves with how many rows it published. */
  flush(): Promise<number>
  /** Stops the timer and waits for the pass in progress. */
  stop(): Promise<void>
}

/**
 * Publishes committed outbox rows in the order they were written and marks each sent
 * once its publish resolved. At least once: a crash between the publish and the mark,
 * or two instances relaying the same row, publish it twice with the same id, which the
 * stream's dedup window and the consumers' `ctx.eventId` checks absorb. A failed publish
 * (the server down) stops the pass; the row is tried again on the next one.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const batch = options.batch ?? 100
  let running: Promise<number> | undefined
  let again = false
  let stopped = false

  const pass = async (): Promise<number> => {
    const db = options.db()
    const rows = await db
      .selectFrom('outbox')
      .select(['id', 'event', 'payload'])
      .where('sent_at', 'is', null)
      .orderBy('seq')
      .limit(batch)
      .execute()
    let sent = 0
    for (const row of rows as { id: string; event: string; payload: string }[]) {
      if (stopped) break
      await options.publish(row.event, JSON.parse(row.payload), row.id)
      await db
        .updateTable('outbox')
        .set({ sent_at: new Date().toISOString() })
        .where('id', '=', row.id)
        .execute()
      sent++
    }
    if (rows.length === batch) again = true
    return sent
  }

  const flush = (): Promise<number> => {
    if (running) {
      again = true
      return running
    }
    running = pass().finally(() => {
      running = undefined
      if (again && !stopped) {
        again = false
        flush().catch((err: unknown) => options.onError?.(err))
      }
    })
    return running
  }

  const tick = () => flush().catch((err: unknown) => options.onError?.(err))
  const timer = setInterval(tick, options.intervalMs ?? 1000)
  timer.unref()

  return {
    kick: () => void tick(),
    flush,
    async stop() {
      stopped = true
      clearInterval(timer)
      await running?.catch(() => {})
    },
  }
}
