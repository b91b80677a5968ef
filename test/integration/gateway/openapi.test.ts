import { describe, expect, it } from 'vitest'
import { catalogService, createCounter, json, startGateway } from './fixtures.ts'

describe('gateway documentation and health', () => {
  it('serves an OpenAPI 3.1 document built from the announced routes and schemas', async () => {
    await using sys = await startGateway([catalogService(createCounter())], {
      openapi: { title: 'Shop', version: '2.0.0' },
    })
    const res = await fetch(`${sys.url}/openapi.json`)
    expect(res.status).toBe(200)
    const doc = await json(res)
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info).toEqual({ title: 'Shop', version: '2.0.0' })
    expect(Object.keys(doc.paths).sort()).toEqual(['/items', '/items/{id}', '/items/{id}/name'])
    expect(JSON.stringify(doc)).not.toContain('secret')

    const get = doc.paths['/items/{id}'].get
    expect(get.operationId).toBe('catalog.get')
    expect(get.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }])
    expect(get.security).toEqual([])
    expect(doc.paths['/items/{id}'].delete.operationId).toBe('catalog.remove')

    const list = doc.paths['/items'].get
    expect(list.summary).toBe('Lists items')
    expect(list.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      'query:limit',
      'query:inStock',
      'query:tags',
      'query:q',
    ])
    expect(list.parameters[0]).toMatchObject({ required: false, schema: { type: 'integer', minimum: 1 } })

    const create = doc.paths['/items'].post
    expect(create.security).toEqual([{ bearer: [] }])
    expect(create.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: ['name', 'price'],
    })
    expect(create.responses['200'].content['application/json'].schema.properties.by).toBeDefined()
    expect(create.responses['401']).toBeDefined()

    const rename = doc.paths['/items/{id}/name'].put
    const body = rename.requestBody.content['application/json'].schema
    expect(Object.keys(body.properties)).toEqual(['name'])
    expect(body.required).toEqual(['name'])
    expect(rename.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
    ])

    expect(doc.components.securitySchemes.bearer).toEqual({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    })
    // Every $ref points at a component that exists.
    for (const ref of JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? []) {
      const name = ref.slice(ref.lastIndexOf('/') + 1, -1)
      expect(doc.components.schemas[name]).toBeDefined()
    }
  })

  it('serves a self-contained docs page and its script, with no external assets', async () => {
    await using sys = await startGateway([catalogService(createCounter())])
    const page = await fetch(`${sys.url}/docs`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    const html = await page.text()
    expect(html).toContain('<script src="docs/docs.js">')
    expect(html).not.toMatch(/https?:\/\//)
    const script = await fetch(`${sys.url}/docs/docs.js`)
    expect(script.status).toBe(200)
    const js = await script.text()
    expect(js).toContain('/openapi.json')
    expect(js).not.toContain('innerHTML')
  })

  it('can leave the docs page out', async () => {
    await using sys = await startGateway([], { docs: false })
    expect((await fetch(`${sys.url}/docs`)).status).toBe(404)
    expect((await fetch(`${sys.url}/openapi.json`)).status).toBe(200)
  })

  it('answers liveness always and readiness once an action is routable', async () => {
    await using sys = await startGateway([catalogService(createCounter())])
    const live = await fetch(`${sys.url}/healthz`)
    expect(live.status).toBe(200)
    expect(await json(live)).toEqual({ status: 'ok' })
    const ready = await fetch(`${sys.url}/readyz`)
    expect(ready.status).toBe(200)
    expect((await json(ready)).routes).toBe(5)
  })
})
