import { startTestSystem } from 'tessera/testkit'
import { describe, expect, it } from 'vitest'
import { rejectionOf, type TempSqlite, tempSqlite } from '../../test/helpers.ts'
import { type CatalogService, createCatalogService } from './service.ts'

const start = (temp: TempSqlite) =>
  startTestSystem({ services: [createCatalogService({ database: temp.configFor('catalog') })] })

describe('catalog', () => {
  it('seeds products on first start and pages through them', async () => {
    using temp = tempSqlite()
    await using system = await start(temp)
    const catalog = system.client<CatalogService>('catalog')
    const all = await catalog.list({})
    expect(all.total).toBe(4)
    const page = await catalog.list({ limit: 2, offset: 1 })
    expect(page.items.map((p) => p.id)).toEqual(all.items.slice(1, 3).map((p) => p.id))
    expect(await catalog.get({ id: 'tea-sencha' })).toMatchObject({ priceCents: 1290, stock: 100 })
    expect((await rejectionOf(catalog.get({ id: 'nope' }))).code).toBe('NOT_FOUND')
  })

  it('rejects a limit out of range as VALIDATION naming it', async () => {
    using temp = tempSqlite()
    await using system = await start(temp)
    const err = await rejectionOf(system.client<CatalogService>('catalog').list({ limit: 0 }))
    expect(err).toMatchObject({ code: 'VALIDATION', data: { errors: [{ path: '/limit' }] } })
  })

  it('reserves stock once per key, however often the reservation is retried', async () => {
    using temp = tempSqlite()
    await using system = await start(temp)
    const catalog = system.client<CatalogService>('catalog')
    const items = [
      { productId: 'tea-sencha', quantity: 3 },
      { productId: 'mug-stoneware', quantity: 1 },
    ]
    const first = await catalog.reserve({ key: 'reservation-1', items })
    expect(first.totalCents).toBe(3 * 1290 + 1850)
    const retries = await Promise.all([1, 2, 3].map(() => catalog.reserve({ key: 'reservation-1', items })))
    for (const r of retries) expect(r).toEqual(first)
    expect((await catalog.get({ id: 'tea-sencha' })).stock).toBe(97)
    const other = await rejectionOf(catalog.reserve({ key: 'reservation-1', items: items.slice(0, 1) }))
    expect(other.code).toBe('CONFLICT')
  })

  it('takes nothing when one line lacks stock: CONFLICT naming the product', async () => {
    using temp = tempSqlite()
    await using system = await start(temp)
    const catalog = system.client<CatalogService>('catalog')
    const err = await rejectionOf(
      catalog.reserve({
        key: 'reservation-2',
        items: [
          { productId: 'tea-sencha', quantity: 1 },
          { productId: 'kettle-gooseneck', quantity: 6 },
        ],
      }),
    )
    expect(err).toMatchObject({ code: 'CONFLICT', data: { productId: 'kettle-gooseneck', available: 5 } })
    expect((await catalog.get({ id: 'tea-sencha' })).stock).toBe(100)
    // The failed key was rolled back with the rest, so it can be used again.
    await catalog.reserve({ key: 'reservation-2', items: [{ productId: 'kettle-gooseneck', quantity: 5 }] })
    expect((await catalog.get({ id: 'kettle-gooseneck' })).stock).toBe(0)
  })

  it('releases a reservation once, putting its stock back', async () => {
    using temp = tempSqlite()
    await using system = await start(temp)
    const catalog = system.client<CatalogService>('catalog')
    await catalog.reserve({ key: 'reservation-3', items: [{ productId: 'mug-stoneware', quantity: 5 }] })
    expect(await catalog.release({ key: 'reservation-3' })).toEqual({ released: true })
    expect(await catalog.release({ key: 'reservation-3' })).toEqual({ released: false })
    expect((await catalog.get({ id: 'mug-stoneware' })).stock).toBe(25)
  })

  it('refuses a product listed twice as VALIDATION', async () => {
    using temp = tempSqlite()
    await using system = await start(temp)
    const line = { productId: 'tea-sencha', quantity: 1 }
    const err = await rejectionOf(
      system.client<CatalogService>('catalog').reserve({ key: 'reservation-4', items: [line, line] }),
    )
    expect(err).toMatchObject({ code: 'VALIDATION', data: { errors: [{ path: '/items/1/productId' }] } })
  })

  it('keeps its data across restarts (seeding happens once)', async () => {
    using temp = tempSqlite()
    {
      await using system = await start(temp)
      await system
        .client<CatalogService>('catalog')
        .reserve({ key: 'reservation-5', items: [{ productId: 'tea-sencha', quantity: 10 }] })
    }
    await using again = await start(temp)
    expect((await again.client<CatalogService>('catalog').get({ id: 'tea-sencha' })).stock).toBe(90)
  })
})
