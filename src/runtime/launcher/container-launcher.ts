import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { constants } from 'node:os'
import { TesseraError } from '../../errors/index.ts'
import { InstanceProcess, LISTEN_FD } from '../instance/instance-process.ts'
import { INSTANCE_ENV } from '../instance/protocol.ts'
import type { InstanceLauncher, LaunchedInstance, LaunchRequest } from './instance-launcher.ts'

export interface ContainerLauncherOptions {
  /** The base image: Node at /usr/bin/node (decision 0025). Default `localhost/tessera-node:<this Node's version>`. */
  image?: string
  /**
   * The value of the `tessera.system` label every container gets; `prepare()` removes the
   * containers that carry it. The supervisor passes its state key.
   */
  system: string
  /** CPU limit of an instance whose unit has no `cpus` in the config (`--cpus`). Default 1. */
  cpus?: number
  /** Task limit of one instance (`--pids-limit`; Node's threads count). Default 256. */
  pidsLimit?: number
  /**
   * The container's network. Default: `none` (a namespace of its own with only loopback)
   * for the socket transport, whose sockets come through a bind mount; `host` for NATS,
   * whose servers listen on the host's 127.0.0.1 (slirp4netns is not installed here).
   */
  network?: string
  /** The podman binary. Default `podman` on PATH. */
  podman?: string
}

/** The label a system's containers carry (`podman ps --filter label=…`). */
export const SYSTEM_LABEL = 'tessera.system'

/** The launcher of `isolation: 'container'`, with its check and clean-up before `up`. */
export interface ContainerLauncher extends InstanceLauncher {
  readonly image: string
  /**
   * Before the first launch (the supervisor's `up`): checks that podman runs and the image
   * is there (rejects with a `UNAVAILABLE` error saying what is missing, rather than every
   * instance crash-looping), then removes every container of this system, left by a
   * supervisor killed before it cleaned up. Resolves with how many it removed.
   */
  prepare(): Promise<number>
}

/**
 * Instances as podman containers (docs/decisions/0025): `podman run --rm --init` of a base
 * image with Node, the unit's bundle, its package folders and the system root mounted
 * read-only at the same paths, a read-only root file system, the transport's folders and
 * own folders read-write, `--memory` from `memoryMb`, `--cpus` from `cpus`, `--pids-limit`, its own
 * network namespace. The podman client is the supervisor's child: the Node IPC channel
 * (fd 3) and the shared listening socket (fd 4) go through it with `--preserve-fds`, so the
 * instance speaks the same protocol as a process (credential included, never in `-e`).
 * Signals go by container name (`podman kill`): a SIGKILL to the client would leave the
 * container running. The client exits with the container's status; 128 + n is mapped back
 * to signal n. A container whose supervisor died sees its IPC channel close, drains and
 * exits, and `--rm` removes it; `prepare` at `up` removes the rest.
 *
 * @example
 * const container = containerLauncher({ system: stateKey, image: 'localhost/tessera-node:20.20.2' })
 */
export function containerLauncher(options: ContainerLauncherOptions): ContainerLauncher {
  const image = options.image ?? `localhost/tessera-node:${process.versions.node}`
  const bin = options.podman ?? 'podman'
  const system = options.system
  if (!/^[\w.-]+$/.test(system))
    throw new TesseraError('VALIDATION', `containerLauncher: system label "${system}" must be [A-Za-z0-9_.-]`)
  return {
    kind: 'container',
    image,
    prepare: async () => {
      await run(bin, ['--version']).catch((err: Error) => {
        throw new TesseraError('UNAVAILABLE', `isolation 'container' needs podman: ${err.message}`)
      })
      await run(bin, ['image', 'exists', image]).catch(() => {
        throw new TesseraError(
          'UNAVAILABLE',
          `isolation 'container': no image ${image} (a base with Node at /usr/bin/node; docs/runtime.md, Isolation)`,
        )
      })
      const ids = (
        await run(bin, ['ps', '-aq', '--filter', `label=${SYSTEM_LABEL}=${system}`]).catch(() => '')
      )
        .split('\n')
        .filter(Boolean)
      if (ids.length > 0) await run(bin, ['rm', '-f', '-t', '0', ...ids]).catch(() => '')
      return ids.length
    },
    launch(req) {
      const name = containerName(req.nodeId)
      const args = runArgs(req, { image, name, system, options })
      let pid: number | undefined
      const inst = new InstanceProcess({
        ...(req.credential ? { credential: req.credential } : {}),
        ...(req.natsLogin ? { natsLogin: req.natsLogin } : {}),
        label: req.label,
        env: req.env,
        ...(req.listen ? { listenFd: req.listen.fd } : {}),
        program: '',
        nodeArgs: [],
        cwd: req.root,
        extraEnv: {},
        // The client gets no secrets either: only PATH to find conmon and runc.
        command: { file: bin, args, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } },
        signal: (signal) => sendSignal(bin, name, signal, () => inst.state.type === 'exited'),
        exitStatus: (code, signal) => {
          // The podman client's own death is not the instance's: the container may still run.
          if (signal !== null) void run(bin, ['rm', '-f', '-t', '0', name]).catch(() => '')
          return code !== null && code > 128 && code - 128 in signalNames
            ? [null, signalNames[code - 128]!]
            : [code, signal]
        },
        pingIntervalMs: req.timing.pingIntervalMs,
        pingTimeoutMs: req.timing.pingTimeoutMs,
        readyTimeoutMs: req.timing.readyTimeoutMs,
        stopTimeoutMs: req.timing.drainTimeoutMs + req.timing.drainGraceMs + 3000,
        onLine: (_label, line, stream) => req.onLine(line, stream),
        ...(req.onSpans ? { onSpans: req.onSpans } : {}),
        ...(req.onContract ? { onContract: req.onContract } : {}),
      })
      // Node in the container as the host sees it (the child of its init, catatonit), so
      // /proc samples measure the instance, not the podman client; learnt once it is
      // ready (undefined before, and if /proc does not show it).
      void inst.ready.then(
        async () => {
          const out = await run(bin, ['inspect', '--format', '{{.State.Pid}}', name]).catch(() => '')
          const init = Number(out.trim())
          const exited = () => inst.state.type === 'exited'
          if (!(init > 0) || exited()) return
          const node = await readFile(`/proc/${init}/task/${init}/children`, 'utf8').then(
            (text) => Number(text.trim().split(' ')[0]),
            () => Number.NaN,
          )
          if (node > 0 && !exited()) pid = node
        },
        () => {},
      )
      return withPid(inst, () => pid)
    },
  }
}

/** The `podman run` arguments for one instance (exported for its test). */
export function runArgs(
  req: LaunchRequest,
  c: { image: string; name: string; system: string; options: ContainerLauncherOptions },
): string[] {
  const { unit, build } = req
  if (build === undefined)
    throw new TesseraError(
      'VALIDATION',
      `${unit.name}: isolation 'container' needs builds (config build: false runs TypeScript through tsx, which the image does not have)`,
    )
  const env = {
    ...unit.env,
    [INSTANCE_ENV]: JSON.stringify({
      ...req.env,
      ...(req.listen ? { listen: { fd: LISTEN_FD, host: req.listen.host, port: req.listen.port } } : {}),
    }),
    // Node IPC over the fd the client hands in (fd 3, `--preserve-fds`): what a child process gets from spawn.
    NODE_CHANNEL_FD: '3',
    NODE_CHANNEL_SERIALIZATION_MODE: 'json',
  }
  const ro = unique([req.root, req.buildDir, ...build.packageDirs])
  const rw = unique([...req.transportDirs, ...(unit.ownFolders ?? [])])
  const network = c.options.network ?? (req.env.transport.kind === 'nats' ? 'host' : 'none')
  return [
    'run',
    '--rm',
    '--init',
    // No registry is assumed: a missing image fails at once (exit 125) instead of a pull.
    '--pull',
    'never',
    '--name',
    c.name,
    '--label',
    `${SYSTEM_LABEL}=${c.system}`,
    '--label',
    `tessera.unit=${unit.name}`,
    '--preserve-fds',
    req.listen ? '2' : '1',
    '--read-only',
    '--cap-drop',
    'all',
    '--security-opt',
    'no-new-privileges',
    '--network',
    network,
    '--cpus',
    String(unit.cpus ?? c.options.cpus ?? 1),
    '--pids-limit',
    String(c.options.pidsLimit ?? 256),
    ...(unit.memoryMb !== undefined
      ? ['--memory', `${unit.memoryMb}m`, '--memory-swap', `${unit.memoryMb}m`]
      : []),
    ...ro.flatMap((dir) => ['-v', `${dir}:${dir}:ro`]),
    ...rw.flatMap((dir) => ['-v', `${dir}:${dir}:rw`]),
    '-w',
    req.root,
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    c.image,
    '/usr/bin/node',
    build.file,
  ]
}

/** A container name from a node id: podman allows [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
export function containerName(nodeId: string): string {
  return `tessera-${nodeId.replace(/[^\w.-]/g, '_')}`
}

const signalNames: Record<number, NodeJS.Signals> = Object.fromEntries(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
)

/**
 * `podman kill --signal` by name. Before the container exists (podman still creating it)
 * this fails: it is tried again until it works or the instance has exited.
 */
function sendSignal(bin: string, name: string, signal: NodeJS.Signals, gone: () => boolean): void {
  const attempt = (left: number) => {
    if (gone()) return
    run(bin, ['kill', '--signal', signal, name]).catch(() => {
      if (left > 0) setTimeout(() => attempt(left - 1), 250).unref()
    })
  }
  attempt(40)
}

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, (err, stdout, stderr) =>
      err ? reject(new Error(`podman ${args[0]}: ${(stderr || err.message).trim()}`)) : resolve(stdout),
    )
  })
}

function unique(dirs: string[]): string[] {
  return [...new Set(dirs)]
}

/** The instance with `pid` taken from `pidOf` (the container's init), everything else its own. */
function withPid(inst: InstanceProcess, pidOf: () => number | undefined): LaunchedInstance {
  return new Proxy(inst, {
    get(target, prop) {
      if (prop === 'pid') return pidOf()
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
