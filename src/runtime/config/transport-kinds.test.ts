import { describe, expect, it } from 'vitest'
import { TesseraError } from '../../errors/index.ts'
import { createTransport } from './create-transport.ts'
import { defaultTransportKinds, type TransportKinds, transportKindOf } from './transport-kinds.ts'
import { resolveTransport } from './units.ts'

describe('transport kinds', () => {
  it('resolve the defaults of each kind for one system', () => {
    expect(resolveTransport({ name: 'shop', services: {} }, 'k1')).toEqual({
      kind: 'socket',
      dir: '/tmp/tessera-shop-k1',
      events: '/tmp/tessera-shop-k1/.events.sock', // the event store the supervisor serves
    })
    expect(
      resolveTransport(
        { name: 'shop', services: {}, transport: { kind: 'nats', servers: 'nats://127.0.0.1:1' } },
        'k1',
      ),
    ).toEqual({ kind: 'nats', servers: ['nats://127.0.0.1:1'], namespace: 'shop-k1' })
  })

  it('name the folders an instance needs and the module its bundle imports', async () => {
    const socket = defaultTransportKinds.socket
    expect(socket.instanceDirs({ kind: 'socket', dir: '/tmp/x' })).toEqual(['/tmp/x'])
    expect(defaultTransportKinds.nats.instanceDirs({ kind: 'nats', servers: [], namespace: 'n' })).toEqual([])
    // The module exports the factory under the name the bundle imports.
    const mod = (await import(socket.instanceModule.file)) as Record<string, unknown>
    expect(typeof mod[socket.instanceModule.exportName]).toBe('function')
  })

  it('are looked up in the table handed in; a kind missing from it is a BAD_REQUEST', () => {
    const made: string[] = []
    // A table built at run time may lack a kind the schema knows.
    const partial: Partial<TransportKinds> = {
      socket: {
        ...defaultTransportKinds.socket,
        create: (config, logger, credential) => {
          made.push(config.kind)
          return defaultTransportKinds.socket.create(config, logger, credential)
        },
      },
    }
    const onlySocket = partial as TransportKinds
    createTransport(
      { kind: 'socket', dir: '/tmp/never-started' },
      undefined,
      undefined,
      undefined,
      onlySocket,
    )
    expect(made).toEqual(['socket'])
    const err = (() => {
      try {
        transportKindOf(onlySocket, 'nats')
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(TesseraError)
    expect(err).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'no transport of kind nats in this runtime (known: socket)',
    })
  })
})
