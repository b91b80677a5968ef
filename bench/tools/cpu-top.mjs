// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self and inclusive time per
// function, top N by self time (or by inclusive time with --total).
// Usage: node bench/tools/cpu-top.mjs <file.cpuprofile> [N] [--total]
import { readFileSync } from 'node:fs'

const args = process.argv.slice(2)
const byTotal = args.includes('--total')
const [file, n = '40'] = args.filter((a) => !a.startsWith('--'))
const prof = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(prof.nodes.map((node) => [node.id, node]))
const parent = new Map()
for (const node of prof.nodes) for (const c of node.children ?? []) parent.set(c, node.id)
const keyOf = (node) => {
  const { functionName, url, lineNumber } = node.callFrame
  return `${functionName || '(anon)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`
}
const self = new Map()
const total = new Map()
let all = 0
for (let i = 0; i < prof.samples.length; i++) {
  const t = prof.timeDeltas[i] ?? 0
  all += t
  let node = byId.get(prof.samples[i])
  self.set(keyOf(node), (self.get(keyOf(node)) ?? 0) + t)
  const seen = new Set()
  while (node) {
    const k = keyOf(node)
    if (!seen.has(k)) {
      seen.add(k)
      total.set(k, (total.get(k) ?? 0) + t)
    }
    node = byId.get(parent.get(node.id))
  }
}
const pct = (t) => `${((t / all) * 100).toFixed(1).padStart(5)}%`
const rows = [...(byTotal ? total : self)].sort((a, b) => b[1] - a[1]).slice(0, Number(n))
console.log('  self  total')
for (const [key] of rows) console.log(`${pct(self.get(key) ?? 0)} ${pct(total.get(key) ?? 0)}  ${key}`)
