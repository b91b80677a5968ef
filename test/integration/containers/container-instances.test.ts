import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Broker, createBroker } from '../../../src/broker/index.ts'
import {
  containerLauncher,
  createSupervisor,
  type Supervisor,
  type SupervisorEvent,
  type SystemConfig,
} from '../../../src/runtime/index.ts'
import type greeterService from '../runtime/fixtures/greeter.ts'
import type { UsersService } from '../runtime/fixtures/users.ts'
import { fixtures, sleep, startLoad, until } from '../runtime/support.ts'
import { localImages, podman, podmanMissing, podmanQuiet } from './podman.ts'

// Issue 12, item 3: a unit with `isolation: 'container'` (users, two instances) beside a
// process unit (greeter, which calls users), under a steady load of idempotent calls,
// keeps the guarantees of process instances: a SIGKILLed container is replaced and no
// call fails; restart, deploy and scaling lose nothing either. Numbers go to the log.
const missing = podmanMissing()
const prefix = `tessera-ci-${process.pid.toString(36)}`
const system = `ci-${process.pid.toString(36)}`
const log = (line: string) => process.stdout.write(`[container-instances] ${line}\n`)

type GreeterService = typeof greeterService

describe.skipIf(missing !== undefined)(
  `instances as podman containers${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    const made = { images: [] as string[] }
    let image = ''
    let stateDir = ''
    let sup: Supervisor | undefined
    let client: Broker | undefined
    const events: SupervisorEvent[] = []

    beforeAll(async () => {
      const local = await localImages(prefix)
      made.images.push(local.node, local.nats)
      image = local.node
      stateDir = await mkdtemp(join(tmpdir(), 'tessera-ci-'))
    }, 180_000)

    afterAll(async () => {
      // Whatever failed: the client, the system (its containers with it), leftovers, images, folders.
      await client?.stop().catch(() => {})
      await sup?.down().catch(() => {})
      const left = (await podman('ps', '-aq', '--filter', `label=tessera.system=${system}`).catch(() => ''))
        .split('\n')
        .filter(Boolean)
      if (left.length > 0) await podmanQuiet('rm', '-f', '-t', '0', ...left)
      for (const i of made.images) await podmanQuiet('rmi', '-f', i)
      if (stateDir) await rm(stateDir, { recursive: true, force: true })
    }, 120_000)

    const usersStatus = () => sup!.status().units.find((u) => u.name === 'users')!
    const containersOf = async () =>
      (await podman('ps', '-q', '--filter', `label=tessera.system=${system}`)).split('\n').filter(Boolean)

    it('runs a container unit beside process units; a SIGKILLed container is replaced with no failed call', {
      timeout: 120_000,
    }, async () => {
      const config: SystemConfig = {
        name: 'ctr',
        stateDir,
        services: {
          users: { entry: './users.ts', instances: 2, isolation: 'container', memoryMb: 128 },
          greeter: { entry: './greeter.ts', instances: 1, dependsOn: ['users'] },
        },
      }
      const launcher = containerLauncher({ system, image })
      sup = createSupervisor({
        config,
        root: fixtures,
        containerLauncher: launcher,
        onEvent: (e) => events.push(e),
        ...(process.env.TESSERA_TEST_LOGS ? { onLog: (l: string, line: string) => log(`${l} ${line}`) } : {}),
      })
      const t0 = Date.now()
      await sup.up()
      const upMs = Date.now() - t0
      const nodeId = `test-client-${process.pid}`
      const joined = await sup.join({ node: nodeId })
      client = createBroker({ nodeId, credential: joined.credential, transport: joined.transport })
      await client.start()
      await client.waitFor(['users', 'greeter'], 10_000)

      // Both users instances really are containers of this system, with the limits asked for.
      const ids = await containersOf()
      expect(ids).toHaveLength(2)
      const inspect = JSON.parse(await podman('inspect', ...ids)) as {
        HostConfig: { Memory: number; ReadonlyRootfs: boolean; NetworkMode: string }
      }[]
      for (const c of inspect) {
        expect(c.HostConfig.Memory).toBe(128 * 1024 * 1024)
        expect(c.HostConfig.ReadonlyRootfs).toBe(true)
        expect(c.HostConfig.NetworkMode).toBe('none')
      }
      // Status shows the container's init as the host sees it (its pid, not the podman client's).
      await until(() => usersStatus().instances.every((i) => i.pid !== undefined), 'container pids known')
      const pids = usersStatus().instances.map((i) => i.pid!)
      const hostPids = (await podman('inspect', '--format', '{{.State.Pid}}', ...ids))
        .split('\n')
        .filter(Boolean)
      expect(pids.map(String).sort()).toEqual(hostPids.sort())

      const greeter = client.client<GreeterService>('greeter')
      const users = client.client<UsersService>('users')
      expect(await greeter.hello({ id: '7' })).toBe('Hello, user 7!')
      const load = startLoad(
        () => Promise.all([users.get({ id: '1', delayMs: 5 }), greeter.hello({ id: '2' })]),
        6,
      )
      await sleep(800)

      const victim = sup.unit('users').instances()[1]!
      const oldNode = victim.nodeId
      const killedAt = Date.now()
      victim.kill('test: SIGKILL')
      const end = await victim.exited
      expect(end).toMatchObject({ signal: 'SIGKILL', planned: false })
      await until(
        () =>
          usersStatus().instances.length === 2 &&
          usersStatus().instances.every((i) => i.state === 'ready' && i.nodeId !== oldNode),
        'replacement container ready',
        30_000,
      )
      const replacedMs = Date.now() - killedAt
      await sleep(500)
      const result = await load.stop()
      expect(result.failures).toEqual([])
      expect(result.ok).toBeGreaterThan(50)
      expect(usersStatus().restarts).toBe(1)
      expect(events.some((e) => e.type === 'crashed' && e.unit === 'users')).toBe(true)
      // The killed container is gone (`--rm`), two run.
      expect(await containersOf()).toHaveLength(2)
      log(
        `up with 2 containers + 1 process: ${upMs} ms; SIGKILL → replacement container ready: ${replacedMs} ms`,
      )
      log(`load: ${result.ok} calls, 0 failed`)
    })
  },
)
