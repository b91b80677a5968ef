import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createAuthority } from '../../identity/index.ts'
import type { UnitSpec } from '../config/index.ts'
import { containerLauncher, containerName, runArgs } from './container-launcher.ts'
import type { LaunchRequest } from './instance-launcher.ts'

const unit: UnitSpec = {
  name: 'users',
  services: [{ name: 'users', entry: '/srv/shop/users/service.ts' }],
  instances: 2,
  env: { TAX: '0.2' },
  memoryMb: 128,
  dependsOn: [],
  needs: [],
  ownFolders: ['/srv/shop/users'],
  isolation: 'container',
}

function request(over: Partial<LaunchRequest> = {}): LaunchRequest {
  return {
    label: 'users#1',
    nodeId: 'shop-users-1-1-ab12',
    unit,
    build: {
      file: '/srv/shop/.tessera/build/users/1.mjs',
      inputs: [],
      packageDirs: ['/srv/node_modules/ajv'],
      ms: 1,
    },
    buildDir: '/srv/shop/.tessera/build',
    root: '/srv/shop',
    env: {
      nodeId: 'shop-users-1-1-ab12',
      services: unit.services,
      needs: [],
      transport: { kind: 'socket', dir: '/tmp/tessera-sock-1' },
      drainTimeoutMs: 1000,
      drainGraceMs: 100,
      readyTimeoutMs: 5000,
      identity: true,
    },
    listen: undefined,
    transportDirs: ['/tmp/tessera-sock-1'],
    timing: {
      pingIntervalMs: 1000,
      pingTimeoutMs: 5000,
      readyTimeoutMs: 5000,
      drainTimeoutMs: 1000,
      drainGraceMs: 100,
    },
    credential: createAuthority().issue({
      node: 'shop-users-1-1-ab12',
      unit: 'users',
      services: ['users'],
      assertsPrincipal: false,
    }),
    onLine: () => {},
    ...over,
  }
}

const args = (req: LaunchRequest, options = {}) =>
  runArgs(req, {
    image: 'localhost/base:20',
    name: 'tessera-x',
    system: 'abc123',
    options: { system: 'abc123', ...options },
  })
const pairs = (list: string[], flag: string) => list.flatMap((a, i) => (a === flag ? [list[i + 1]!] : []))

describe('containerLauncher: the podman run of one instance', () => {
  it('mounts code read-only and the transport and own folders read-write, with limits and no network', () => {
    const a = args(request())
    expect(a.slice(0, 3)).toEqual(['run', '--rm', '--init'])
    expect(pairs(a, '--pull')).toEqual(['never'])
    expect(a).toContain('--read-only')
    expect(pairs(a, '-v')).toEqual([
      '/srv/shop:/srv/shop:ro',
      '/srv/shop/.tessera/build:/srv/shop/.tessera/build:ro',
      '/srv/node_modules/ajv:/srv/node_modules/ajv:ro',
      '/tmp/tessera-sock-1:/tmp/tessera-sock-1:rw',
      '/srv/shop/users:/srv/shop/users:rw',
    ])
    expect(pairs(a, '--memory')).toEqual(['128m'])
    expect(pairs(a, '--cpus')).toEqual(['1'])
    expect(pairs(a, '--network')).toEqual(['none'])
    expect(pairs(a, '--label')).toEqual(['tessera.system=abc123', 'tessera.unit=users'])
    expect(pairs(a, '--preserve-fds')).toEqual(['1'])
    expect(a.slice(-3)).toEqual([
      'localhost/base:20',
      '/usr/bin/node',
      '/srv/shop/.tessera/build/users/1.mjs',
    ])
  })

  it("limits CPU to the unit's cpus, else to the launcher's default", () => {
    expect(pairs(args(request({ unit: { ...unit, cpus: 0.25 } }), { cpus: 2 }), '--cpus')).toEqual(['0.25'])
    expect(pairs(args(request(), { cpus: 2 }), '--cpus')).toEqual(['2'])
  })

  it('passes env with -e, the IPC channel as fd 3, and never the credential', () => {
    const req = request()
    const env = pairs(args(req), '-e')
    expect(env).toContain('TAX=0.2')
    expect(env).toContain('NODE_CHANNEL_FD=3')
    const instance = JSON.parse(
      env.find((e) => e.startsWith('TESSERA_INSTANCE='))!.slice('TESSERA_INSTANCE='.length),
    )
    expect(instance).toMatchObject({ nodeId: req.nodeId, identity: true })
    const all = args(req).join('\n')
    expect(all).not.toContain(JSON.stringify(req.credential).slice(1, 40))
    for (const value of Object.values(req.credential!))
      if (typeof value === 'string' && value.length > 20) expect(all).not.toContain(value)
  })

  it('hands a shared socket in as fd 4, and uses the host network for NATS', () => {
    const a = args(request({ listen: { fd: 17, host: '127.0.0.1', port: 8080 } }))
    expect(pairs(a, '--preserve-fds')).toEqual(['2'])
    const instance = JSON.parse(
      pairs(a, '-e')
        .find((e) => e.startsWith('TESSERA_INSTANCE='))!
        .slice(17),
    )
    expect(instance.listen).toEqual({ fd: 4, host: '127.0.0.1', port: 8080 })
    const nats = request()
    nats.env = {
      ...nats.env,
      transport: { kind: 'nats', servers: ['nats://127.0.0.1:4222'], namespace: 'x' },
    }
    expect(pairs(args(nats), '--network')).toEqual(['host'])
    expect(pairs(args(nats, { network: 'slirp4netns' }), '--network')).toEqual(['slirp4netns'])
  })

  it('refuses the tsx fallback and a bad system label with a clear error', () => {
    expect(() => args(request({ build: undefined }))).toThrow(/isolation 'container' needs builds/)
    expect(() => containerLauncher({ system: 'a b' })).toThrow(/system label "a b"/)
  })

  it('fails prepare with what is missing: podman, or the image', async () => {
    await expect(containerLauncher({ system: 's', podman: '/nonexistent/podman' }).prepare()).rejects.toThrow(
      /isolation 'container' needs podman/,
    )
    // A stand-in podman that runs but knows no image.
    const dir = mkdtempSync(join(tmpdir(), 'tessera-fake-podman-'))
    try {
      const bin = join(dir, 'podman')
      writeFileSync(bin, '#!/bin/sh\n[ "$1" = "image" ] && exit 1\nexit 0\n', { mode: 0o755 })
      await expect(
        containerLauncher({ system: 's', podman: bin, image: 'localhost/none:1' }).prepare(),
      ).rejects.toThrow(/no image localhost\/none:1/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('names containers after their node id, in the characters podman allows', () => {
    expect(containerName('shop-users-1-1-ab12')).toBe('tessera-shop-users-1-1-ab12')
    expect(containerName('a/b:c')).toBe('tessera-a_b_c')
  })
})
