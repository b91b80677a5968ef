import { resolve } from 'node:path'
import { buildImages, writeDeploySecrets, writeManifests } from '../../deploy/index.ts'
import { TesseraError } from '../../errors/index.ts'
import { loadSystem } from '../../runtime/index.ts'
import { formatBytes, out } from '../output.ts'

interface ImageOptions {
  config?: string
  base?: string
  repository?: string
  tag?: string
  /** `unit=path`, repeatable: files the unit reads at run time. */
  include?: string[]
}

/**
 * `tessera build image [unit…]`: one OCI image per unit (all by default) with podman, then
 * a line per image with its name, size and build time. See docs/kubernetes.md.
 */
export async function buildImage(units: string[], o: ImageOptions): Promise<void> {
  const { config, root } = await loadSystem(o.config)
  const include: Record<string, string[]> = {}
  for (const item of o.include ?? []) {
    const [unit, path] = item.split('=', 2)
    if (!unit || !path)
      throw new TesseraError('BAD_REQUEST', `--include wants unit=path, got ${JSON.stringify(item)}`)
    include[unit] = [...(include[unit] ?? []), path]
  }
  const started = performance.now()
  const images = await buildImages({
    config,
    root,
    units,
    include,
    ...(o.base ? { base: o.base } : {}),
    ...(o.repository ? { repository: o.repository } : {}),
    ...(o.tag ? { tag: o.tag } : {}),
  })
  out.table([
    ['IMAGE', 'SIZE', 'BUILD'],
    ...images.map((i) => [i.image, formatBytes(i.sizeBytes), `${(i.buildMs / 1000).toFixed(1)}s`]),
  ])
  const bundle = images[0]?.bundleMs ?? 0
  out.line(
    `${images.length} image(s) in ${((performance.now() - started) / 1000).toFixed(1)}s (bundling ${(bundle / 1000).toFixed(1)}s)`,
  )
}

interface K8sOptions {
  config?: string
  output: string
  repository?: string
  tag?: string
  namespace?: string
}

/** `tessera build k8s [unit…] [-o dir]`: the manifests of every unit and the NATS chart values. */
export async function buildK8s(units: string[], o: K8sOptions): Promise<void> {
  const { config, root } = await loadSystem(o.config)
  const files = await writeManifests(resolve(o.output), {
    config,
    root,
    units,
    ...(o.repository ? { repository: o.repository } : {}),
    ...(o.tag ? { tag: o.tag } : {}),
    ...(o.namespace ? { namespace: o.namespace } : {}),
  })
  for (const file of files) out.line(`wrote ${file}`)
  out.line(
    `apply: kubectl apply -f ${o.output} (NATS first: helm install nats nats/nats -f ${o.output}/nats/values.yaml)`,
  )
}

/**
 * `tessera build secrets [-o dir]`: each unit's Secret values (its identity delegation and
 * NATS login), the kubectl commands that create them, and the NATS users that admit them
 * (decision 0031). The folder is private (0700, secret files 0600): keep it out of git.
 */
export async function buildSecrets(o: { config?: string; output: string }): Promise<void> {
  const { config, root } = await loadSystem(o.config)
  const dir = resolve(o.output)
  const files = await writeDeploySecrets(dir, { config, root })
  for (const file of files) out.line(`wrote ${file}`)
  out.line(`create them: sh ${o.output}/create-secrets.sh <namespace>`)
  out.line(
    `NATS logins: helm install nats nats/nats -f <k8s>/nats/values.yaml -f ${o.output}/nats-values-authorization.yaml`,
  )
}
