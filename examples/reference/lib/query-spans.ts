import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely'
import type { Context, WorkSpan } from 'tessera/contract'

/**
 * A Kysely plugin that makes each query of one call a span in that call's trace
 * (`ctx.startSpan`): named by operation and table (`SELECT products`), with
 * `db.system.name`, never the parameter values. A query that throws ends no span (Kysely
 * calls no plugin hook then), so failed queries are missing from traces, not wrong.
 */
export class QuerySpans implements KyselyPlugin {
  readonly #open = new WeakMap<object, WorkSpan>()

  constructor(
    private readonly ctx: Context,
    private readonly system: string,
  ) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const { operation, table } = describe(args.node)
    this.#open.set(
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
    this.#open.get(args.queryId)?.end()
    this.#open.delete(args.queryId)
    return args.result
  }
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
