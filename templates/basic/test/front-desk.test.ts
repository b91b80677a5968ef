import { fakeService, startTestSystem } from 'tessera/testkit'
import { describe, expect, it } from 'vitest'
import { type FrontDeskService, frontDesk } from '../services/front-desk.ts'
import { type GreeterService, greeter } from '../services/greeter.ts'

describe('front-desk', () => {
  it('welcomes a guest with the greeter’s words', async () => {
    await using system = await startTestSystem({ services: [greeter, frontDesk] })
    const { message } = await system.client<FrontDeskService>('front-desk').welcome({ name: 'Ada' })
    expect(message).toBe('Hello, Ada! Welcome to __NAME__.')
  })

  it('refuses an empty name before any handler runs', async () => {
    await using system = await startTestSystem({ services: [greeter, frontDesk] })
    await expect(system.client<FrontDeskService>('front-desk').welcome({ name: '' })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
  })

  it('surfaces the greeter’s failure', async () => {
    const down = fakeService<GreeterService>('greeter', {
      hello: () => {
        throw new Error('greeter is down')
      },
    })
    await using system = await startTestSystem({ services: [down, frontDesk] })
    await expect(system.client<FrontDeskService>('front-desk').welcome({ name: 'Ada' })).rejects.toThrow()
  })
})
