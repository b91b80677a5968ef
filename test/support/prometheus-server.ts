/**
 * A throwaway Prometheus server (Debian's `prometheus` package) scraping one target, for
 * tests that must prove a real Prometheus reads what Tessera serves: the text parser,
 * bearer-token scraping and label handling are Prometheus's own.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './nats-server.ts'

const BINARY = '/usr/bin/prometheus'

export interface PrometheusServer extends AsyncDisposable {
  readonly url: string
  readonly pid: number
  /** An instant PromQL query; the result's samples as labels and number. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>
  /** The scrape target's health as Prometheus sees it (`up`, `lastError`). */
  target(): Promise<{ health: string; lastError: string } | undefined>
  /** SIGTERM, SIGKILL after 3 s; removes its data. Idempotent. */
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
})

/** Scrapes `http://<target><path>` every second with `Authorization: Bearer <token>`. */
export async function startPrometheus(options: {
  target: string
  token: string
  path?: string
}): Promise<PrometheusServer> {
  if (!existsSync(BINARY))
    throw new Error(
      `${BINARY} not found; install it with: apt-get install -y --no-install-recommends prometheus`,
    )
  const dir = await mkdtemp(join(tmpdir(), 'tessera-prom-'))
  const port = await freePort()
  // The scrape config docs/observability.md recommends, with the token in a file.
  await writeFile(join(dir, 'token'), options.token, { mode: 0o600 })
  await writeFile(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, scrape_timeout: 900ms }',
      'scrape_configs:',
      '  - job_name: tessera',
      '    honor_labels: true',
      `    metrics_path: ${options.path ?? '/metrics'}`,
      `    authorization: { credentials_file: ${join(dir, 'token')} }`,
      `    static_configs: [{ targets: ['${options.target}'] }]`,
      '',
    ].join('\n'),
  )
  const child = spawn(
    BINARY,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  running.add(child)
  let log = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
      running.delete(child)
      await rm(dir, { recursive: true, force: true })
    })()
    return stopping
  }
  const api = async (path: string): Promise<unknown> => {
    const res = await fetch(`${url}${path}`)
    const body = (await res.json()) as { status: string; data: unknown }
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${JSON.stringify(body)}`)
    return body.data
  }
  // Ready when its API answers (a few hundred ms); the exit or 20 s otherwise.
  const end = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited: ${log}`)
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break
    } catch {}
    if (Date.now() > end) {
      await stop()
      throw new Error(`prometheus not ready in 20 s: ${log}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const server: PrometheusServer = {
    url,
    pid: child.pid ?? 0,
    async query(promql) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(promql)}`)) as {
        result: { metric: Record<string, string>; value: [number, string] }[]
      }
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }))
    },
    async target() {
      const data = (await api('/api/v1/targets')) as {
        activeTargets: { health: string; lastError: string }[]
      }
      return data.activeTargets[0]
    },
    stop,
    [Symbol.asyncDispose]: stop,
  }
  return server
}
