import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Tests that run whole systems (many processes, load generators, a browser) are the
// "system" project: `npm test` runs them one file at a time after the rest, so their
// timing claims ("zero failed calls under load") are judged on a machine that is not
// also running another system's worth of processes on the same 2 cores.
const system = [
  'test/integration/runtime/**/*.test.ts',
  'test/integration/nats-outage/**/*.test.ts',
  'test/integration/nats-scale/**/*.test.ts',
  'test/integration/durable-events/**/*.test.ts',
  'test/integration/hosts/**/*.test.ts',
  'test/integration/package/**/*.test.ts',
  'test/integration/containers/**/*.test.ts',
  'examples/reference/test/**/*.test.ts',
]

const shared = {
  pool: 'forks' as const,
  testTimeout: 20_000,
  hookTimeout: 20_000,
  env: { NODE_ENV: 'test' },
}

// `tessera` and `tessera/<part>` mean the sources in this checkout (as tsconfig's paths).
const src = fileURLToPath(new URL('./src/', import.meta.url))
const alias = [
  { find: /^tessera$/, replacement: `${src}index.ts` },
  { find: /^tessera\/(.+)$/, replacement: `${src}$1/index.ts` },
]

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          ...shared,
          name: 'unit',
          include: [
            'src/**/*.test.ts',
            'test/**/*.test.ts',
            'examples/**/*.test.ts',
            'templates/**/*.test.ts',
          ],
          exclude: [...system, '**/node_modules/**'],
          maxWorkers: 2,
        },
      },
      {
        resolve: { alias },
        test: {
          ...shared,
          name: 'system',
          include: system,
          fileParallelism: false,
          maxWorkers: 1,
        },
      },
    ],
  },
})
