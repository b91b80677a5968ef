import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { ServiceContract } from '../../contract/index.ts'
import { TesseraError } from '../../errors/index.ts'
import { FakeClock, flush } from '../../middleware/testing/fake-clock.ts'
import type { UnitBuild } from '../build/index.ts'
import type { UnitSpec } from '../config/index.ts'
import type { LaunchRequest } from '../launcher/index.ts'
import { type FakeBehaviour, type FakeInstance, fakeLauncher } from '../launcher/testing/index.ts'
import type { SupervisorEvent } from './events.ts'
import { fakeUnitContext, fakeUnitSpec } from './testing/fake-unit.ts'
import { UnitRunner } from './unit-runner.ts'

const buildOf = (file: string): UnitBuild => ({ file, inputs: [], packageDirs: [], ms: 1 })

/**
 * A runner of unit `users` over fake instances and a fake clock. With `builds`, each
 * build (at start, then per deploy or restart) takes the next name of the list; a name
 * `broken` rejects like a build error.
 */
function setup(
  o: {
    instances?: number
    behave?: (req: LaunchRequest) => FakeBehaviour
    builds?: string[]
    /** The contracts each build describes to (by build name); without it deploys are not checked. */
    contracts?: Record<string, ServiceContract[]>
  } = {},
) {
  const clock = new FakeClock(1_000_000)
  const launcher = fakeLauncher(clock, o.behave)
  const events: SupervisorEvent[] = []
  const removed: string[] = []
  const builds = [...(o.builds ?? [])]
  const spec = fakeUnitSpec({ instances: o.instances ?? 2 })
  const ctx = fakeUnitContext(launcher, clock, events, {
    build: o.builds
      ? async () => {
          const name = builds.shift()
          if (!name) throw new Error('test asked for more builds than it listed')
          if (name === 'broken') throw new TesseraError('VALIDATION', 'build of users failed: users.ts:1:1')
          return buildOf(name)
        }
      : undefined,
    removeBuild: async (b) => {
      removed.push(b.file)
    },
    buildDir: '/app/.tessera/build',
    ...(o.contracts
      ? {
          describe: async (_spec: UnitSpec, build: UnitBuild) => {
            const found = o.contracts?.[build.file]
            if (!found) throw new TesseraError('VALIDATION', `${build.file} does not load`)
            return found
          },
        }
      : {}),
  })
  const runner = new UnitRunner(spec, ctx)
  const types = () => events.map((e) => e.type)
  const states = () => runner.status().map((s) => s.state)
  return { clock, launcher, events, types, removed, runner, states }
}

/** The instances of `users#<slot>` in launch order. */
const inSlot = (launched: FakeInstance[], slot: number) => launched.filter((i) => i.label === `users#${slot}`)

describe('UnitRunner over a fake launcher', () => {
  it('starts the configured instances and resolves once every one serves', async () => {
    const { runner, launcher, states, clock } = setup()
    await runner.start()
    expect(launcher.launched.map((i) => i.label)).toEqual(['users#1', 'users#2'])
    expect(states()).toEqual(['ready', 'ready'])
    await clock.advance(2500)
    expect(runner.status()[0]!.uptimeMs).toBe(2500)
    // What the launcher was asked: the unit's env and transport folders, no listening socket.
    const req = launcher.launched[0]!.request
    expect(req.env).toMatchObject({ nodeId: req.nodeId, needs: [], transport: { kind: 'socket' } })
    expect(req).toMatchObject({ transportDirs: ['/tmp/never-used'], listen: undefined, root: '/app' })
  })

  describe('deploy', () => {
    it('rolls back when a new instance fails to get ready: the old ones keep serving', async () => {
      const { runner, launcher, events, removed } = setup({
        builds: ['v1', 'v2'],
        behave: (req) => (req.build?.file === 'v2' && req.label === 'users#2' ? 'fail' : 'ready'),
      })
      await runner.start()
      const old = launcher.live()
      const err = await runner.deploy().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(TesseraError)
      expect(err).toMatchObject({ code: 'UNAVAILABLE' })
      expect((err as Error).message).toMatch(/^deploy of users rolled back: users#2 failed to start: boom/)
      expect(events.at(-1)).toMatchObject({ type: 'rolled-back', unit: 'users' })
      // The new users#1 that did get ready was drained; the old ones never noticed.
      const fresh = launcher.launched.filter((i) => i.buildFile === 'v2')
      expect(fresh.map((i) => i.state)).toMatchObject([
        { type: 'exited', planned: true },
        { type: 'exited', planned: false },
      ])
      expect(runner.instances()).toEqual(old)
      expect(old.every((i) => i.stops === 0)).toBe(true)
      expect(runner.build?.file).toBe('v1')
      expect(runner.restarts).toBe(0) // a failed new instance is no crash of the unit
      await flush()
      expect(removed).toEqual(['v2']) // no instance runs the rolled-back build any more
    })

    it('rolls back a new version that does not build, launching nothing', async () => {
      const { runner, launcher, events } = setup({ builds: ['v1', 'broken'] })
      await runner.start()
      await expect(runner.deploy()).rejects.toMatchObject({
        code: 'VALIDATION',
        message: expect.stringMatching(/^deploy of users rolled back: build of users failed/),
      })
      expect(launcher.launched).toHaveLength(2)
      expect(events.at(-1)).toMatchObject({ type: 'rolled-back' })
    })

    it('drains the old instances once every new one serves, and removes the old build after them', async () => {
      const { runner, launcher, removed, states } = setup({ builds: ['v1', 'v2'] })
      await runner.start()
      const old = launcher.live()
      await runner.deploy()
      expect(old.map((i) => i.state)).toMatchObject([
        { type: 'exited', planned: true },
        { type: 'exited', planned: true },
      ])
      expect(runner.instances().map((i) => i.versions[0]?.version)).toEqual(['v2', 'v2'])
      expect(states()).toEqual(['ready', 'ready'])
      await flush()
      expect(removed).toEqual(['v1'])
      expect(runner.restarts).toBe(0)
    })
  })

  describe('crashes', () => {
    it('restarts a crashed instance at once, then with a doubling delay on the clock', async () => {
      const { runner, launcher, clock, events, states } = setup({ instances: 1 })
      await runner.start()
      launcher.launched[0]!.crash(1)
      await flush()
      expect(events.filter((e) => e.type === 'restarting')).toMatchObject([{ delayMs: 0, recentCrashes: 1 }])
      await clock.advance(0)
      expect(inSlot(launcher.launched, 1)).toHaveLength(2)

      launcher.launched[1]!.crash(null, 'SIGKILL')
      await flush()
      expect(events.at(-1)).toMatchObject({ type: 'restarting', delayMs: 100, recentCrashes: 2 })
      expect(states()).toEqual(['restarting'])
      await clock.advance(99)
      expect(launcher.launched).toHaveLength(2) // not before its delay
      await clock.advance(1)
      expect(launcher.launched).toHaveLength(3)
      await flush()
      expect(states()).toEqual(['ready'])
      expect(runner.restarts).toBe(2)
      expect(events.filter((e) => e.type === 'crashed')).toMatchObject([
        { instance: 'users#1', exitCode: 1, signal: null },
        { instance: 'users#1', exitCode: null, signal: 'SIGKILL' },
      ])
    })

    it('stops restarting after five crashes within the window (crash loop); a restart clears it', async () => {
      const { runner, launcher, clock, events, states, types } = setup({ instances: 2 })
      await runner.start()
      const crashNow = async (label: string) => {
        launcher
          .live()
          .find((i) => i.label === label)!
          .crash(1)
        await flush()
      }
      for (let n = 0; n < 3; n++) {
        // Each restarted users#1 crashes again soon: well within 30 s.
        await crashNow('users#1')
        await clock.advance(1000)
      }
      await crashNow('users#2') // the 4th: its restart waits 400 ms…
      expect(events.at(-1)).toMatchObject({ type: 'restarting', instance: 'users#2', delayMs: 400 })
      await crashNow('users#1') // …when the 5th makes it a crash loop
      expect(runner.state).toBe('crash-loop')
      expect(events.at(-1)).toMatchObject({ type: 'crash-loop', crashes: 5, windowMs: 30_000 })
      expect(types().filter((t) => t === 'restarting')).toHaveLength(4)
      expect(clock.pending).toBe(0) // users#2's restart was cancelled
      const launchedBefore = launcher.launched.length
      await clock.advance(60_000)
      expect(launcher.launched).toHaveLength(launchedBefore)
      expect(states()).toEqual(['crash-loop', 'crash-loop'])
      // Waiting for the unit to serve (a scale up) now fails fast rather than hanging.
      await expect(runner.scale(3)).rejects.toThrow('users is crash-looping')

      await runner.restart()
      expect(runner.state).toBe('running')
      expect(states()).toEqual(['ready', 'ready', 'ready'])
    })

    it('forgets crashes older than the window: one crash a minute never loops', async () => {
      const { runner, launcher, clock } = setup({ instances: 1 })
      await runner.start()
      for (let n = 0; n < 8; n++) {
        launcher.live()[0]!.crash(1)
        await flush()
        await clock.advance(31_000)
      }
      expect(runner.state).toBe('running')
      expect(runner.restarts).toBe(8)
      expect(launcher.live()).toHaveLength(1)
    })
  })

  describe('scale', () => {
    it('adds slots above the highest and drains the highest first, without counting crashes', async () => {
      const { runner, launcher, events } = setup({ instances: 2 })
      await runner.start()
      await runner.scale(4)
      expect(runner.status().map((s) => [s.label, s.state])).toEqual([
        ['users#1', 'ready'],
        ['users#2', 'ready'],
        ['users#3', 'ready'],
        ['users#4', 'ready'],
      ])
      await runner.scale(1)
      expect(runner.status().map((s) => s.label)).toEqual(['users#1'])
      expect(launcher.live().map((i) => i.label)).toEqual(['users#1'])
      expect(
        events
          .filter((e) => e.type === 'stopped')
          .map((e) => e.instance)
          .sort(),
      ).toEqual(['users#2', 'users#3', 'users#4'])
      expect(runner.restarts).toBe(0)
      expect(runner.spec.instances).toBe(1)
    })

    it('cancels the pending restart of a slot it removes', async () => {
      const { runner, launcher, clock } = setup({ instances: 2 })
      await runner.start()
      launcher.live()[1]!.crash(1)
      launcher.live()[0]!.crash(1)
      await flush()
      await clock.advance(0) // the first crash restarts at once…
      launcher
        .live()
        .find((i) => i.label === 'users#2')
        ?.crash(1)
      await flush() // …the next waits 100 ms
      expect(runner.status().map((s) => s.state)).toContain('restarting')
      await runner.scale(1)
      await clock.advance(10_000)
      expect(launcher.live().map((i) => i.label)).toEqual(['users#1'])
      expect(clock.pending).toBe(0)
    })
  })

  describe('one slot', () => {
    it('stopInstance kills one instance, counts the crash and resolves once its replacement serves', async () => {
      const { runner, launcher, clock } = setup({ instances: 2 })
      await runner.start()
      const [first, second] = launcher.live()
      const lines: string[] = []
      const stopping = runner.stopInstance('users#2', true, (l) => lines.push(l))
      await flush()
      expect(inSlot(launcher.launched, 2)).toHaveLength(1) // the restart is due on the clock
      await clock.advance(0)
      await stopping
      expect(second!.signals).toEqual(['SIGKILL'])
      expect(first!.state.type).toBe('ready')
      expect(inSlot(launcher.launched, 2)).toHaveLength(2)
      expect(runner.restarts).toBe(1)
      expect(lines.at(-1)).toMatch(/^users#2: replacement ready \(pid \d+\)$/)
      await expect(runner.stopInstance('users#9', false)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    })

    it('a rolling restart stops at the first replacement that fails, leaving that slot serving', async () => {
      let launches = 0
      const { runner, launcher } = setup({
        instances: 3,
        // The 3 of start, then users#1's replacement, then users#2's fails.
        behave: () => (++launches === 5 ? 'fail' : 'ready'),
      })
      await runner.start()
      const [one, two, three] = launcher.live()
      await expect(runner.restart()).rejects.toThrow('users#2 failed to start: boom before it was ready')
      expect(one!.state).toMatchObject({ type: 'exited', planned: true })
      expect(runner.instances()).toEqual([launcher.launched[3], two, three])
      expect(two!.stops + three!.stops).toBe(0)
      expect(runner.status().map((s) => s.state)).toEqual(['ready', 'ready', 'ready'])
    })

    it('a restart whose replacement fails refills a slot that had crashed', async () => {
      let failNext = false
      const { runner, launcher, clock, states } = setup({
        instances: 1,
        behave: () => {
          const behaviour = failNext ? 'fail' : 'ready'
          failNext = false
          return behaviour
        },
      })
      await runner.start()
      for (let n = 0; n < 5; n++) {
        launcher.live()[0]!.crash(1)
        await flush()
        await clock.advance(1000)
      }
      expect(states()).toEqual(['crash-loop'])
      failNext = true
      await expect(runner.restart()).rejects.toThrow('failed to start')
      await flush()
      expect(runner.state).toBe('running')
      expect(states()).toEqual(['ready'])
    })
  })

  describe('stop', () => {
    it('during a deploy: the new instances stop too, the deploy rejects and nothing restarts', async () => {
      const { runner, launcher, clock } = setup({
        builds: ['v1', 'v2'],
        behave: (req) => (req.build?.file === 'v2' ? 'hang' : 'ready'),
      })
      await runner.start()
      const deploying = runner.deploy()
      deploying.catch(() => {})
      await flush()
      expect(launcher.live()).toHaveLength(4) // two old, two new starting
      await runner.stop()
      await expect(deploying).rejects.toThrow(/rolled back/)
      expect(launcher.live()).toEqual([])
      expect(launcher.launched.every((i) => i.state.type === 'exited' && i.state.planned)).toBe(true)
      expect(runner.state).toBe('stopped')
      await clock.advance(60_000)
      expect(launcher.launched).toHaveLength(4)
      expect(runner.restarts).toBe(0)
    })

    it('during a crash backoff: the restart never comes', async () => {
      const { runner, launcher, clock } = setup({ instances: 1 })
      await runner.start()
      launcher.live()[0]!.crash(1)
      await flush()
      await clock.advance(0)
      launcher.live()[0]!.crash(1) // waits 100 ms
      await flush()
      await runner.stop()
      expect(clock.pending).toBe(0)
      await clock.advance(1000)
      expect(launcher.launched).toHaveLength(2)
      expect(runner.state).toBe('stopped')
    })

    it('while the unit still starts: start rejects, the starting instances drain', async () => {
      const { runner, launcher } = setup({ behave: () => 'hang' })
      const starting = runner.start()
      starting.catch(() => {})
      await flush()
      await runner.stop()
      await expect(starting).rejects.toThrow('users was stopped')
      expect(launcher.live()).toEqual([])
    })
  })

  describe('deploy checks the new contract against the running one', () => {
    const usersGet = (output: Record<string, unknown>): ServiceContract[] => [
      {
        name: 'users',
        version: '1',
        actions: {
          get: {
            input: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
            output,
          },
        },
        events: {},
      },
    ]
    const withName = {
      type: 'object',
      properties: { id: { type: 'string' }, name: { type: 'string' } },
      required: ['id', 'name'],
    }
    const withAvatar = { ...withName, properties: { ...withName.properties, avatar: { type: 'string' } } }
    const withoutName = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }

    it('refuses a breaking change before starting anything, with the diff, and removes the refused build', async () => {
      const { runner, launcher, types, removed } = setup({
        builds: ['v1', 'v2'],
        contracts: { v1: usersGet(withName), v2: usersGet(withoutName) },
      })
      await runner.start()
      const lines: string[] = []
      const err = await runner.deploy((l) => lines.push(l)).catch((e: TesseraError) => e)
      expect(err).toBeInstanceOf(TesseraError)
      expect((err as TesseraError).code).toBe('CONFLICT')
      expect((err as TesseraError).message).toContain('✗ action get output.name: removed')
      expect(lines.join('\n')).toContain('users 1 → 1')
      expect(launcher.launched.map((i) => i.buildFile)).toEqual(['v1', 'v1'])
      expect(types()).toContain('refused')
      expect(removed).toEqual(['v2'])
    })

    it('deploys a compatible change (a new optional output field), and a breaking one when forced', async () => {
      const { runner, launcher } = setup({
        builds: ['v1', 'v2', 'v3'],
        contracts: { v1: usersGet(withName), v2: usersGet(withAvatar), v3: usersGet(withoutName) },
      })
      await runner.start()
      await runner.deploy()
      expect(launcher.live().map((i) => i.buildFile)).toEqual(['v2', 'v2'])
      await runner.deploy(() => {}, { force: true })
      expect(launcher.live().map((i) => i.buildFile)).toEqual(['v3', 'v3'])
    })

    it('checks a restart onto new code as a deploy, and restarts unchanged code without describing it', async () => {
      // Real bundles: a rebuild of unchanged sources is a new file with the same bytes.
      const dir = await mkdtemp(join(tmpdir(), 'tessera-restart-'))
      const [v1, v1again, v2] = ['v1.mjs', 'v1-again.mjs', 'v2.mjs'].map((f) => join(dir, f)) as [
        string,
        string,
        string,
      ]
      await writeFile(v1, 'export const users = 1\n')
      await writeFile(v1again, 'export const users = 1\n')
      await writeFile(v2, 'export const users = 2\n')
      const described: string[] = []
      const contracts = {
        [v1]: usersGet(withName),
        [v1again]: usersGet(withName),
        [v2]: usersGet(withoutName),
      }
      const { runner, launcher, types } = setup({ builds: [v1, v1again, v2, v2], contracts })
      try {
        await runner.start()
        const lines: string[] = []
        await runner.restart((l) => lines.push(l))
        expect(lines.join('\n')).not.toContain('comparing the new contract')
        expect(launcher.live().map((i) => i.buildFile)).toEqual([v1again, v1again])
        const err = await runner.restart((l) => described.push(l)).catch((e: TesseraError) => e)
        expect((err as TesseraError).code).toBe('CONFLICT')
        expect((err as TesseraError).message).toContain('✗ action get output.name: removed')
        expect(described.join('\n')).toContain('comparing the new contract')
        expect(launcher.live().map((i) => i.buildFile)).toEqual([v1again, v1again])
        expect(types()).toContain('refused')
        await runner.restart(() => {}, { force: true })
        expect(launcher.live().map((i) => i.buildFile)).toEqual([v2, v2])
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('rolls back a deploy whose new build cannot even be described', async () => {
      const { runner, launcher, types, removed } = setup({
        builds: ['v1', 'v2'],
        contracts: { v1: usersGet(withName) },
      })
      await runner.start()
      await expect(runner.deploy()).rejects.toThrow('deploy of users rolled back: v2 does not load')
      expect(launcher.live().map((i) => i.buildFile)).toEqual(['v1', 'v1'])
      expect(types()).toContain('rolled-back')
      expect(removed).toEqual(['v2'])
    })
  })
})
