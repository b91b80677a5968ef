import type {
  KyselyPlugin,
  LogEvent,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryId,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely'
import type { Context, WorkSpan } from 'tessera/contract'

/** The span of each query under way, by Kysely's query id (shared by every plugin instance). */
const open = new WeakMap<QueryId, WorkSpan>()

/**
 * A Kysely plugin that makes each query of one call a span in that call's trace
 * (`ctx.startSpan`): named by operation and table (`SELECT products`), with
 * `db.system.name`, never the parameter values. Kysely calls no plugin hook for a query
 * that throws: its span is ended, with the error, by `querySpanLog`, which the database
 * must be opened with (`new Kysely({ log: querySpanLog, ... })`).
 */
export class QuerySpans implements KyselyPlugin {
  constructor(
    private readonly ctx: Context,
    private readonly system: string,
  ) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const { operation, table } = describe(args.node)
    open.set(
      args.queryId,
      this.ctx.startSpan(table ? `${operation} ${table}` : operation, {
        'db.system.name': this.system,
        'db.operation.name': operation,
        ...(table ? { 'db.collection.name': table } : {}),
      }),
    )
    return args.node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    open.get(args.queryId)?.end()
    open.delete(args.queryId)
    return args.result
  }
}

/** Kysely's log hook: ends the span of a query that failed, with its error. */
export function querySpanLog(event: LogEvent): void {
  if (event.level !== 'error') return
  const span = open.get(event.query.queryId)
  if (!span) return
  open.delete(event.query.queryId)
  span.end(event.error ?? new Error('query failed'))
}

const OPERATIONS: Record<string, string> = {
  SelectQueryNode: 'SELECT',
  InsertQueryNode: 'INSERT',
  UpdateQueryNode: 'UPDATE',
  DeleteQueryNode: 'DELETE',
}

/** The operation and first table of a query node, read defensively (the node shapes are Kysely's). */
function describe(node: RootOperationNode): { operation: string; table: string | undefined } {
  const operation = OPERATIONS[node.kind] ?? 'SQL'
  const n = node as unknown as Record<string, any>
  const tableNode = n.from?.froms?.[0] ?? n.into ?? n.table ?? n.from
  const name = tableNode?.table?.identifier?.name ?? tableNode?.identifier?.name
  return { operation, table: typeof name === 'string' ? name : undefined }
}
