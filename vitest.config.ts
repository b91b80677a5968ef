import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Tests that run whole systems (many processes, load generators, a browser) are the
// system projects: `npm test` runs them after the rest, in two lanes at once
// (scripts/test-system.mjs), each lane one file at a time. Lane "system" holds the tests
// whose claims ("zero failed calls under load", partitions, host loss) need the machine's
// CPU; lane "system-apart" the long ones that mostly wait (image builds and pods under
// podman, npm installs, a service kept down for 30 s), so the two rarely want the 2 cores
// at the same moment and the whole suite takes about half as long.
const apart = [
  'test/integration/containers/**/*.test.ts',
  'test/integration/package/**/*.test.ts',
  'test/integration/durable-events/reference-outbox.test.ts',
  'test/integration/durable-events/dead-letters-cli.test.ts',
  'test/integration/runtime/adapters.test.ts',
  // Functional checks of the CLI, the log files and contracts: no load, no timing claim.
  'test/integration/runtime/cli.test.ts',
  'test/integration/runtime/logs.test.ts',
  'test/integration/runtime/contract-join.test.ts',
  'test/integration/runtime/cli-up.test.ts',
  // Placement, scale and logs over three agents: no load, no fault.
  'test/integration/hosts/spread.test.ts',
  'examples/reference/test/security.test.ts',
  // The reference system's pages in Chromium: what they show and do, no load.
  'examples/reference/test/e2e/dashboard.test.ts',
  'examples/reference/test/e2e/browser.test.ts',
  'examples/reference/test/e2e/accounts.test.ts',
]
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
          exclude: [...apart, '**/node_modules/**'],
          fileParallelism: false,
          maxWorkers: 1,
        },
      },
      {
        resolve: { alias },
        test: {
          ...shared,
          name: 'system-apart',
          include: apart,
          fileParallelism: false,
          maxWorkers: 1,
        },
      },
    ],
  },
})
