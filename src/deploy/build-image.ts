import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { TesseraError } from '../errors/index.ts'
import { buildUnits } from '../runtime/build/index.ts'
import { defaultTransportKinds, type SystemConfig } from '../runtime/config/index.ts'
import { containerfile } from './containerfile.ts'
import { type DeployPlan, deployPlan, pickUnits } from './deploy-plan.ts'
import { stageUnit } from './image-contents.ts'

const run = promisify(execFile)

export interface BuildImagesOptions {
  config: SystemConfig
  /** The config's folder. */
  root: string
  /** Units to build; all when empty or missing. */
  units?: string[]
  /** The image every unit's image starts from: a Node image with `node` on its PATH. Default `node:20-slim`. */
  base?: string
  /** Image names are `<repository>-<unit>:<tag>`. Default repository `localhost/<system>`, tag `latest`. */
  repository?: string
  tag?: string
  /** Per unit, folders or files (relative to the root) it reads at run time, copied into its image. */
  include?: Record<string, string[]>
  /** The podman binary. Default `podman` (on PATH). */
  podman?: string
  /** Keeps the build context (Containerfile and files) in this folder instead of a temporary one. */
  contextDir?: string
}

export interface BuiltImage {
  unit: string
  /** `<repository>-<unit>:<tag>`. */
  image: string
  /** As podman reports it (uncompressed layers). */
  sizeBytes: number
  /** The one esbuild run all units shared. */
  bundleMs: number
  /** This image's own part: staging its files and `podman build`. */
  buildMs: number
}

/** The image a unit is built as and its manifests refer to. */
export function imageName(
  system: string,
  unit: string,
  o: { repository?: string; tag?: string } = {},
): string {
  return `${o.repository ?? `localhost/${system}`}-${unit}:${o.tag ?? 'latest'}`
}

/**
 * Builds one OCI image per unit with podman: the unit's esbuild bundle (made for the
 * NATS transport), the packages it imports from outside the bundle and their production
 * dependencies (native ones included), on top of `base`; see containerfile.ts for what
 * the image runs and as whom. Units are bundled in one esbuild run, then built one after
 * the other. Resolves with each image's name, size and build time.
 *
 * Rejects with VALIDATION when the config cannot run in containers (see `deployPlan`) or
 * a unit does not build, NOT_FOUND for an unknown unit, UNAVAILABLE when podman is
 * missing or fails (its output in the message). The temporary context is removed also
 * when the build fails.
 *
 * @example
 * const { config, root } = await loadSystem('tessera.config.ts')
 * for (const i of await buildImages({ config, root, base: 'node:20-slim' })) console.log(i.image, i.sizeBytes)
 */
export async function buildImages(options: BuildImagesOptions): Promise<BuiltImage[]> {
  const plan = deployPlan(options.config, options.root)
  const units = pickUnits(plan, options.units ?? [])
  const podman = options.podman ?? 'podman'
  await run(podman, ['--version']).catch((err: Error) => {
    throw new TesseraError('UNAVAILABLE', `podman is needed to build images (${podman}: ${err.message})`)
  })
  const work = options.contextDir ?? (await mkdtemp(join(tmpdir(), 'tessera-image-')))
  try {
    const started = performance.now()
    const builds = await Promise.all(
      buildUnits(
        units.map((u) => ({ unit: u.name, services: u.services })),
        {
          transport: defaultTransportKinds.nats.instanceModule,
          outDir: join(work, 'bundles'),
          root: options.root,
        },
      ),
    )
    const bundledAt = performance.now()
    const images: BuiltImage[] = []
    for (const [i, unit] of units.entries()) {
      const unitStarted = performance.now()
      const dir = join(work, unit.name)
      await rm(dir, { recursive: true, force: true })
      await Promise.all(['data', 'tmp'].map((d) => mkdir(join(dir, d), { recursive: true })))
      const staged = await stageUnit({
        unit: unit.name,
        build: builds[i]!,
        root: options.root,
        dir,
        ...(options.include?.[unit.name] ? { include: options.include[unit.name] } : {}),
      })
      const image = imageName(plan.system, unit.name, options)
      await writeFile(
        join(dir, 'Containerfile'),
        containerfile({
          base: options.base ?? 'node:20-slim',
          unit: unit.name,
          system: plan.system,
          entry: staged.entry,
          workdir: staged.workdir,
          instanceEnv: instanceEnvOf(plan, unit, staged.toImagePath),
          ...(unit.listen ? { listenPort: unit.listen.port } : {}),
        }),
      )
      await podmanRun(podman, [
        'build',
        '--quiet',
        '--format',
        'oci',
        '-f',
        join(dir, 'Containerfile'),
        '-t',
        image,
        dir,
      ])
      const size = await podmanRun(podman, ['image', 'inspect', '--format', '{{.Size}}', image])
      images.push({
        unit: unit.name,
        image,
        sizeBytes: Number(size.trim()),
        bundleMs: Math.round(bundledAt - started),
        buildMs: Math.round(performance.now() - unitStarted),
      })
    }
    return images
  } finally {
    if (options.contextDir === undefined) await rm(work, { recursive: true, force: true })
  }
}

/**
 * TESSERA_INSTANCE for the unit's containers: what the supervisor would hand an instance,
 * minus what only the running pod knows (its node id, made from the host name; the NATS
 * servers and login may come from the environment, see the instance's health-server.ts).
 * Adapters get no inherited socket: a unit with `listen` listens itself (`$PORT`).
 */
function instanceEnvOf(
  plan: DeployPlan,
  unit: DeployPlan['units'][number],
  toImagePath: (path: string) => string,
): object {
  return {
    nodeId: '',
    services: unit.services.map((s) => ({ ...s, entry: toImagePath(s.entry) })),
    needs: unit.needs,
    transport: plan.transport,
    drainTimeoutMs: plan.timings.drainTimeoutMs,
    drainGraceMs: plan.timings.drainGraceMs,
    readyTimeoutMs: plan.timings.readyTimeoutMs,
    ...(plan.tracing ? { tracing: plan.tracing } : {}),
  }
}

async function podmanRun(podman: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(podman, args, { maxBuffer: 16 * 1024 * 1024 })
    return stdout
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new TesseraError('UNAVAILABLE', `podman ${args[0]} failed: ${(e.stderr || e.message).trim()}`)
  }
}
