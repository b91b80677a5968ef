import type { Transport } from '../../transport/index.ts'

/**
 * A transport made when the broker starts rather than when it is created: the
 * supervisor's caller broker exists from `createSupervisor` on, but on NATS its login is
 * read from the state dir (asynchronously) only at `up`. Sends before start fail like a
 * send to an unknown peer; `close` before start does nothing.
 */
export function deferredTransport(
  kind: string,
  make: () => Promise<Transport & AsyncDisposable>,
): Transport & AsyncDisposable {
  let inner: (Transport & AsyncDisposable) | undefined
  const transport: Transport & AsyncDisposable = {
    kind,
    async start(local, handlers) {
      inner = await make()
      await inner.start(local, handlers)
    },
    announce: (local) => inner?.announce(local),
    send: (nodeId, message) => inner?.send(nodeId, message) ?? false,
    close: async () => {
      await inner?.close()
    },
    [Symbol.asyncDispose]: () => transport.close(),
  }
  return transport
}
