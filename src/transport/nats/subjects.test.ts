import { describe, expect, it } from 'vitest'
import { isTesseraError } from '../../errors/index.ts'
import { natsPermissions } from './permissions.ts'
import { natsSubjects, nodeIdOf, nodeToken, senderOf } from './subjects.ts'

describe('natsSubjects', () => {
  it('addresses a peer by unit and node, target first, then sender', () => {
    const s = natsSubjects('shop', 'orders-1', 'orders')
    expect(s.toPeer('users', nodeToken('users-2'))).toBe('tessera.shop.node.users.users-2.orders.orders-1')
    expect(s.replyFor(nodeToken('users-2'))).toBe('tessera.shop.nr.orders.orders-1.users-2')
    expect(s.inbox).toBe('tessera.shop.node.orders.orders-1.*.*')
    expect(s.ownDiscovery).toBe('tessera.shop.discovery.orders.orders-1')
    expect(s.discovery).toBe('tessera.shop.discovery.*.*')
    expect(s.gone).toBe('tessera.shop.gone.*.*')
    expect(s.ownGone).toBe('tessera.shop.gone.orders.orders-1')
    expect(s.noResponders).toBe('tessera.shop.nr.orders.orders-1.*')
  })

  it('puts nodes without a unit under "_"', () => {
    expect(natsSubjects('shop', 'node-1').ownDiscovery).toBe('tessera.shop.discovery._.node-1')
  })

  it('reads the sender back from the last two tokens', () => {
    const s = natsSubjects('shop', 'a', 'u')
    const subject = natsSubjects('shop', 'host.example', 'users').toPeer('u', 'a')
    expect(senderOf(subject.slice('tessera.shop.node.u.a.'.length))).toEqual({
      unit: 'users',
      nodeId: 'host.example',
    })
    expect(s.inboxPrefix).toBe('tessera.shop.node.u.a.')
    expect(senderOf('users')).toBeUndefined()
    expect(senderOf('users.%zz')).toBeUndefined()
  })

  it('rejects a namespace that is not one plain token', () => {
    for (const ns of ['', 'a.b', 'a b', '*', '>']) {
      let thrown: unknown
      try {
        natsSubjects(ns, 'n')
      } catch (err) {
        thrown = err
      }
      expect(isTesseraError(thrown, 'BAD_REQUEST')).toBe(true)
    }
  })
})

describe('natsPermissions', () => {
  it('pins the unit in the sender position of publishes and the target of subscriptions', () => {
    expect(natsPermissions('shop', 'orders')).toEqual({
      publish: {
        allow: [
          'tessera.shop.node.*.*.orders.*',
          'tessera.shop.discovery.orders.*',
          'tessera.shop.gone.orders.*',
          'tessera.shop.durable.orders.>',
          'tessera.shop.dead.>',
          '$JS.API.INFO',
          '$JS.API.STREAM.INFO.TESSERA_shop_EVENTS',
          '$JS.API.STREAM.CREATE.TESSERA_shop_EVENTS',
          '$JS.API.STREAM.INFO.TESSERA_shop_DEAD',
          '$JS.API.STREAM.CREATE.TESSERA_shop_DEAD',
          '$JS.API.STREAM.INFO.TESSERA_shop_REPLAY',
          '$JS.API.STREAM.CREATE.TESSERA_shop_REPLAY',
          '$JS.API.STREAM.MSG.GET.TESSERA_shop_DEAD',
          '$JS.API.CONSUMER.CREATE.TESSERA_shop_EVENTS.>',
          '$JS.API.CONSUMER.DURABLE.CREATE.TESSERA_shop_EVENTS.>',
          '$JS.API.CONSUMER.INFO.TESSERA_shop_EVENTS.>',
          '$JS.API.CONSUMER.MSG.NEXT.TESSERA_shop_EVENTS.>',
          '$JS.ACK.TESSERA_shop_EVENTS.>',
          '$JS.API.CONSUMER.CREATE.TESSERA_shop_REPLAY.>',
          '$JS.API.CONSUMER.DURABLE.CREATE.TESSERA_shop_REPLAY.>',
          '$JS.API.CONSUMER.INFO.TESSERA_shop_REPLAY.>',
          '$JS.API.CONSUMER.MSG.NEXT.TESSERA_shop_REPLAY.>',
          '$JS.ACK.TESSERA_shop_REPLAY.>',
        ],
      },
      subscribe: {
        allow: [
          'tessera.shop.node.orders.*.*.*',
          'tessera.shop.discovery.*.*',
          'tessera.shop.gone.*.*',
          'tessera.shop.nr.orders.*.*',
          '_INBOX_shop_orders.>',
        ],
      },
    })
  })

  it('lets only the supervisor replay and discard dead letters (decision 0027)', () => {
    const operatorOnly = ['tessera.shop.replay.>', '$JS.API.STREAM.MSG.DELETE.TESSERA_shop_DEAD']
    const supervisor = natsPermissions('shop', 'supervisor').publish.allow
    const orders = natsPermissions('shop', 'orders').publish.allow
    for (const subject of operatorOnly) {
      expect(supervisor).toContain(subject)
      expect(orders).not.toContain(subject)
    }
  })
})

describe('nodeToken', () => {
  it('keeps plain ids as they are', () => {
    expect(nodeToken('api-7f3a_1')).toBe('api-7f3a_1')
  })

  it('escapes dots, wildcards, spaces and non-ASCII reversibly', () => {
    for (const id of ['host.example.com-12', 'a*b>c', 'with space', 'üñí', '100%', '']) {
      const token = nodeToken(id)
      expect(token).toMatch(/^[A-Za-z0-9_%-]+$/)
      expect(nodeIdOf(token)).toBe(id)
    }
  })

  it('refuses tokens it did not make', () => {
    expect(nodeIdOf('%zz')).toBeUndefined()
    expect(nodeIdOf('')).toBeUndefined()
  })
})
