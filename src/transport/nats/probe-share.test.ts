import { describe, expect, it } from 'vitest'
import { jittered, ownerOf, shareHash } from './probe-share.ts'

describe('ownerOf', () => {
  const watchers = ['a', 'b', 'c']

  it('gives every peer one owner, the same for every node holding the same watchers', () => {
    for (let i = 0; i < 100; i++) {
      const owner = ownerOf(`api-${i}`, watchers)
      expect(watchers).toContain(owner)
      expect(ownerOf(`api-${i}`, [...watchers])).toBe(owner)
    }
  })

  it('never makes a watcher its own prober', () => {
    for (const w of watchers) {
      expect(ownerOf(w, watchers)).not.toBe(w)
      expect(ownerOf(w, [w, 'z'])).toBe('z')
    }
    expect(ownerOf('a', ['a'])).toBeUndefined()
    expect(ownerOf('x', [])).toBeUndefined()
  })

  it('spreads 3,000 peers over 3 watchers, about a third each', () => {
    const counts = new Map<string, number>()
    for (let i = 0; i < 3000; i++) {
      const o = ownerOf(`p${i % 3}-${i}`, watchers)!
      counts.set(o, (counts.get(o) ?? 0) + 1)
    }
    for (const w of watchers) expect(counts.get(w)).toBeGreaterThan(800)
  })

  it('hashes with FNV-1a, so other implementations agree', () => {
    expect(shareHash('')).toBe(0x811c9dc5)
    expect(shareHash('a')).toBe(0xe40c292c)
  })
})

describe('jittered', () => {
  it('stays within ±10% by default', () => {
    expect(jittered(1000, 0.1, () => 0)).toBe(900)
    expect(jittered(1000, 0.1, () => 0.999999)).toBe(1100)
    expect(jittered(1000, 0.1, () => 0.5)).toBe(1000)
  })
})
