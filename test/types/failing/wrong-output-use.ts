// The result is typed from the callee's output schema.
import type { UsersService } from '../../fixtures/shop.ts'
import { createBroker } from '../../../src/broker/index.ts'

const user = await createBroker().client<UsersService>('users').get({ id: '1' })
// @expect-error TS2322 (string is not assignable to number)
const n: number = user.name
export { n }
