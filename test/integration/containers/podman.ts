import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** Why the container test cannot run here, or undefined when podman works. */
export function podmanMissing(): string | undefined {
  try {
    execFileSync('podman', ['--version'], { stdio: 'ignore' })
  } catch {
    return 'podman is not installed (apt-get install -y --no-install-recommends podman runc catatonit golang-github-containernetworking-plugin-dnsname; npm run test:fresh does it)'
  }
  if (process.getuid?.() !== 0) return 'the container test runs podman as root (as CI does)'
  return undefined
}

/** Runs podman; rejects with its stderr. */
export async function podman(...args: string[]): Promise<string> {
  try {
    const { stdout } = await exec('podman', args, { maxBuffer: 64 * 1024 * 1024 })
    return stdout
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`podman ${args.join(' ')}: ${(e.stderr || e.message).trim()}`)
  }
}

/** Like `podman`, for clean-up: a failure (already gone) is ignored. */
export async function podmanQuiet(...args: string[]): Promise<void> {
  await exec('podman', args).catch(() => {})
}

/**
 * No registry is reachable here (/work/shared/TESTING.md): a Node base image is made from
 * this machine's own `node` and the libraries `ldd` lists, and a NATS image from the
 * Debian nats-server on top of it. Both are plain files: no shell, no package manager.
 */
export async function localImages(prefix: string): Promise<{ node: string; nats: string }> {
  const node = `localhost/${prefix}-node:${process.versions.node}`
  const nats = `localhost/${prefix}-nats:latest`
  const dir = mkdtempSync(join(tmpdir(), 'tessera-base-'))
  try {
    const root = join(dir, 'root')
    for (const file of [process.execPath, ...librariesOf(process.execPath)]) {
      const to = join(root, file === process.execPath ? '/usr/bin/node' : file)
      mkdirSync(dirname(to), { recursive: true })
      copyFileSync(file, to)
    }
    // /tmp as on any distribution: writable by every user, sticky. Root's 0755 here kept the
    // NATS container (user 10001) from its JetStream store in /tmp, with or without a tmpfs
    // there (podman's tmpfs copies the image folder's mode): "mkdir /tmp/nats: permission denied".
    mkdirSync(join(root, 'tmp'), { recursive: true })
    chmodSync(join(root, 'tmp'), 0o1777)
    mkdirSync(join(root, 'etc'), { recursive: true })
    writeFileSync(
      join(root, 'etc/passwd'),
      'root:x:0:0::/:/sbin/nologin\ntessera:x:10001:10001::/data:/sbin/nologin\n',
    )
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\ntessera:x:10001:\n')
    execFileSync('tar', ['-C', root, '-cf', join(dir, 'root.tar'), '.'])
    await podman('import', '--change', 'ENV PATH=/usr/bin', join(dir, 'root.tar'), node)

    const natsDir = join(dir, 'nats')
    mkdirSync(natsDir)
    copyFileSync(natsServerPath(), join(natsDir, 'nats-server'))
    writeFileSync(
      join(natsDir, 'Containerfile'),
      `FROM ${node}\nCOPY nats-server /usr/bin/nats-server\nUSER 10001:10001\nENTRYPOINT ["/usr/bin/nats-server", "-a", "0.0.0.0", "-p", "4222"]\n`,
    )
    await podman('build', '--quiet', '-t', nats, natsDir)
    return { node, nats }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function librariesOf(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' })
  return [...out.matchAll(/(\/\S+)/g)].map((m) => m[1]!).filter((p) => !p.endsWith(':'))
}

function natsServerPath(): string {
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server']) {
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore' })
      return p
    } catch {}
  }
  throw new Error('nats-server is not installed (apt-get install -y nats-server)')
}
