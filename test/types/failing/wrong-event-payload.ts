// A subscriber's handler gets the emitter's payload type.
import { defineService, subscribe } from '../../../src/contract/index.ts'
import type { OrdersService } from '../../fixtures/shop.ts'

export const svc = defineService({
  name: 'svc',
  on: {
    ...subscribe<OrdersService>({
      'order.placed': (order) => {
        // @expect-error TS2339 (no such field on the payload)
        void order.customer
      },
      // @expect-error TS2353 (not an event of orders)
      'order.shipped': () => {},
    }),
  },
  actions: () => ({}),
})
