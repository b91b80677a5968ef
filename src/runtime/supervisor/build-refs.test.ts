import { describe, expect, it } from 'vitest'
import type { UnitBuild } from '../build/index.ts'
import { BuildRefs } from './build-refs.ts'

const buildOf = (file: string): UnitBuild => ({ file, inputs: [], packageDirs: [], ms: 1 })
const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('BuildRefs', () => {
  it('keeps a replaced build while an instance runs it, and removes it with the last one', async () => {
    const removed: string[] = []
    const refs = new BuildRefs(async (b) => {
      removed.push(b.file)
    })
    const v1 = buildOf('v1')
    const v2 = buildOf('v2')
    refs.setCurrent(v1)
    let exitA!: () => void
    let exitB!: () => void
    refs.use(v1, new Promise<void>((r) => (exitA = r)))
    refs.use(v1, new Promise<void>((r) => (exitB = r)))
    refs.setCurrent(v2)
    await tick()
    expect(removed).toEqual([]) // two instances still run v1
    exitA()
    await tick()
    expect(removed).toEqual([])
    expect(refs.users(v1)).toBe(1)
    exitB()
    await tick()
    expect(removed).toEqual(['v1'])
    expect(refs.current).toBe(v2)
  })

  it('never removes the current build, and removes an unused one as soon as it is replaced', async () => {
    const removed: string[] = []
    const refs = new BuildRefs(async (b) => {
      removed.push(b.file)
    })
    const v1 = buildOf('v1')
    refs.setCurrent(v1)
    let exit!: () => void
    refs.use(v1, new Promise<void>((r) => (exit = r)))
    exit()
    await tick()
    expect(removed).toEqual([]) // its last instance went, but it is still what new ones run
    refs.setCurrent(buildOf('v2'))
    expect(removed).toEqual(['v1'])
  })
})
