import { describe, expect, it } from 'vitest'
import { killOneOfThreeUnderLoad } from './kill-under-load.ts'

describe('an instance killed with SIGKILL under load (socket transport)', () => {
  it('fails no idempotent call and is replaced by a ready instance', { timeout: 40_000 }, async () => {
    const events = await killOneOfThreeUnderLoad('kill')
    expect(events.map((e) => e.type)).toContain('crashed')
    expect(events.filter((e) => e.type === 'restarting')).toHaveLength(1)
  })
})
