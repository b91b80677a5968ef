import type { FastifyInstance } from 'fastify'

const CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'"

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem 2rem; color: #1c1c1c; }
  h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
  details { border: 1px solid #ddd; border-radius: 6px; margin: .5rem 0; padding: .4rem .8rem; }
  summary { cursor: pointer; font-family: ui-monospace, monospace; }
  .m { display: inline-block; min-width: 4.5rem; font-weight: 600; }
  .GET { color: #0a6 } .POST { color: #06c } .PUT, .PATCH { color: #b60 } .DELETE { color: #c22 }
  .lock { font-size: .8rem; color: #666; margin-left: .5rem; }
  pre { background: #f6f6f6; padding: .6rem; overflow: auto; font-size: 13px; }
</style>
</head>
<body>
<h1 id="title">API reference</h1>
<p>Machine-readable: <a href="../openapi.json">openapi.json</a></p>
<main id="ops"><p>Loading…</p></main>
<script src="docs/docs.js"></script>
</body>
</html>
`

// Renders with textContent only: schemas come from peers and are never parsed as HTML.
const SCRIPT = `(async () => {
  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props)
    for (const c of children) node.append(c)
    return node
  }
  const base = location.pathname.replace(/\\/docs\\/?$/, '')
  const doc = await (await fetch(base + '/openapi.json')).json()
  document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version
  const ops = document.getElementById('ops')
  ops.replaceChildren()
  const byTag = new Map()
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || 'default'
      if (!byTag.has(tag)) byTag.set(tag, [])
      byTag.get(tag).push({ path, method: method.toUpperCase(), op })
    }
  }
  if (byTag.size === 0) ops.append(el('p', { textContent: 'No routable actions yet.' }))
  for (const [tag, list] of byTag) {
    ops.append(el('h2', { textContent: tag }))
    for (const { path, method, op } of list) {
      const summary = el('summary', {},
        el('span', { className: 'm ' + method, textContent: method }), path,
        el('span', { className: 'lock', textContent: op.security && op.security.length ? 'bearer token' : 'public' }))
      const body = [el('p', { textContent: (op.summary || '') + ' (' + op.operationId + ')' })]
      if (op.parameters && op.parameters.length) {
        body.push(el('h4', { textContent: 'Parameters' }), el('pre', { textContent: JSON.stringify(op.parameters, null, 2) }))
      }
      if (op.requestBody) {
        body.push(el('h4', { textContent: 'Request body' }),
          el('pre', { textContent: JSON.stringify(op.requestBody.content['application/json'].schema, null, 2) }))
      }
      body.push(el('h4', { textContent: 'Response' }),
        el('pre', { textContent: JSON.stringify(op.responses['200'].content['application/json'].schema, null, 2) }))
      ops.append(el('details', {}, summary, ...body))
    }
  }
})().catch((err) => { document.getElementById('ops').textContent = 'Could not load the API description: ' + err })
`

/**
 * `GET /docs`: a self-contained API reference page (no CDN, no external assets) that
 * renders `/openapi.json`; its script is served beside it so a strict CSP applies.
 *
 * @example
 * registerDocsPage(app) // then open http://127.0.0.1:8080/docs
 */
export function registerDocsPage(app: FastifyInstance): void {
  app.get('/docs', (_req, reply) => {
    reply.header('content-security-policy', CSP).type('text/html; charset=utf-8').send(HTML)
  })
  app.get('/docs/docs.js', (_req, reply) => {
    reply.header('content-security-policy', CSP).type('text/javascript; charset=utf-8').send(SCRIPT)
  })
}
