import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { createBroker } from '../../../src/broker/index.ts'
import { createSupervisor, loadNatsLogins, type SystemConfig } from '../../../src/runtime/index.ts'
import { freePort, startNatsServer } from '../../support/nats-server.ts'
import { fixtures } from './support.ts'

// A system on a nats-server that admits only the logins `tessera nats-config` generates,
// each unit's with its own subject permissions: the runtime must hand every instance its
// unit's login (and certificate), or nothing connects or sees anything.
it('runs a system on NATS with per-unit logins the server enforces', { timeout: 60_000 }, async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'tessera-natsperm-'))
  const port = await freePort()
  const config: SystemConfig = {
    name: 'natsperm',
    stateDir,
    transport: { kind: 'nats', servers: `nats://127.0.0.1:${port}` },
    services: {
      users: { entry: './users.ts', instances: 2 },
      greeter: { entry: './greeter.ts', dependsOn: ['users'] },
    },
  }
  const logins = await loadNatsLogins(config, fixtures)
  await using nats = await startNatsServer({ port, extraConfig: logins.serverConfig() })
  try {
    await using sup = createSupervisor({ config, root: fixtures })
    expect(await sup.up()).toEqual({ failed: [] })
    const { credential, transport } = await sup.join({ node: 'natsperm-tester-1' })
    await using client = createBroker({ nodeId: 'natsperm-tester-1', credential, transport })
    await client.start()
    await client.waitFor(['greeter', 'users'], 10_000)
    expect(await client.call('greeter', 'hello', { id: '1' })).toMatch(/^Hello, /)
    // Every instance is known by its certificate, under its own unit.
    const units = client.registry
      .nodes()
      .filter((n) => n.nodeId !== client.nodeId)
      .map((n) => n.identity?.unit)
      .sort()
    expect(units).toEqual(['greeter', 'supervisor', 'users', 'users'])
    void nats
  } finally {
    await rm(stateDir, { recursive: true, force: true })
  }
})
