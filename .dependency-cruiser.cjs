/**
 * The layering of docs/architecture.md, checked: `npx depcruise src --config .dependency-cruiser.cjs`.
 *
 * Each part (a folder under src/) may import only the parts listed for it below, and
 * only through their public `index.ts` (or a transport's subpath index). No cycles;
 * library code never imports tests, benchmarks, examples or test helpers; nothing
 * imports the CLI. A new folder under src/ must be added to `layers` first.
 */

/** part → the parts it may import. Order: lower parts first. */
const layers = {
  errors: [],
  // Private folders and files (0700/0600): node:fs only.
  files: [],
  observability: [],
  context: ['errors'],
  // Outbound HTTP for services (bounded fetch): only the error table below it.
  fetch: ['errors'],
  // OpenTelemetry tracing over the Instrumentation interface (new trace ids from context).
  tracing: ['errors', 'observability', 'context'],
  // The handler's context hands out the injected logger (`ctx.log`).
  contract: ['errors', 'observability', 'context'],
  // Node credentials and principal proofs: node:crypto and plain types only.
  identity: ['errors', 'context'],
  // The wire vocabulary carries contract data (PolicyOverrides, HttpRoute, EventMode) and
  // context's Principal as plain types, so it sits just above contract, below everything
  // that moves or stores messages.
  wire: ['errors', 'context', 'contract', 'identity'],
  codec: ['errors', 'context', 'contract', 'wire'],
  transport: ['errors', 'observability', 'context', 'contract', 'identity', 'wire', 'codec', 'files'],
  middleware: ['errors', 'observability', 'context', 'contract'],
  registry: ['errors', 'observability', 'context', 'contract', 'wire', 'middleware'],
  broker: [
    'errors',
    'observability',
    'context',
    'contract',
    'identity',
    'wire',
    'codec',
    'transport',
    'middleware',
    'registry',
  ],
}
// Prometheus metrics (prom-client): the instrumentation interface of observability, nothing else.
layers.metrics = ['errors', 'observability']
const belowBroker = [...layers.broker, 'broker']
// testkit, runtime and gateway are siblings: none imports another.
layers.testkit = belowBroker
// The runtime gives each instance its tracer and keeps the spans they send; it hosts each
// instance's metrics and serves the system's (src/metrics).
layers.runtime = [...belowBroker, 'tracing', 'metrics', 'files']
layers.gateway = belowBroker
// Container images and Kubernetes manifests of a system (`tessera build image|k8s`): the
// runtime's config and its unit builds (through runtime/config and runtime/build, see below).
layers.deploy = [...belowBroker, 'runtime', 'files']
// The protocol conformance runner (tessera conformance) plays a peer with raw frames: it
// knows the wire vocabulary, the codec and identity (to issue and check credentials), not
// the transports or the broker it checks.
layers.conformance = ['errors', 'context', 'contract', 'identity', 'wire', 'codec']
// The CLI sits on top and may use any part (through its index.ts); nothing imports it.
const parts = [...Object.keys(layers), 'cli']
// Tests, their fixtures and helpers. Tests beside the code may compose several parts
// (resilience.test.ts builds a broker-style pipeline with registry balancers; broker
// tests start systems with the testkit), so the layer rules do not apply to them; they
// still reach other parts through index.ts or a shared testing/ folder.
const TESTS = ['\\.test\\.ts$', '\\.fixture\\.ts$', '/testing/', '/test-support\\.ts$']

/** What one part may import of another: its index.ts, or a transport's subpath index.ts. */
const PUBLIC = ['^src/$1/', '^src/[^/]+/index\\.ts$', '^src/transport/(in-process|socket|nats)/index\\.ts$']

const layerRules = Object.keys(layers).map((part) => {
  const forbidden = parts.filter((p) => p !== part && !layers[part].includes(p))
  return {
    name: `layer-${part}`,
    comment: `${part} may import only: ${layers[part].join(', ') || 'nothing else in src'}`,
    severity: 'error',
    from: { path: `^src/${part}/`, pathNot: TESTS },
    to: { path: `^src/(${forbidden.join('|')})/` },
  }
})

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'Cycles through type-only imports are allowed: they are erased at compile time, and mutually ' +
        'recursive types (a Context that calls services, services whose handlers take a Context) ' +
        'are clearer beside their owners than merged into one file. Across parts the layer rules forbid them anyway.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    ...layerRules,
    {
      name: 'no-deep-imports',
      comment:
        'Another part is reached only through its index.ts (transports also through their subpath index.ts).',
      severity: 'error',
      from: { path: '^src/([^/]+)/', pathNot: [...TESTS, '^src/deploy/'] },
      to: { path: '^src/[^/]+/', pathNot: PUBLIC },
    },
    {
      name: 'no-deep-imports-from-deploy',
      comment:
        'deploy packs what the runtime builds and plans: it may also use runtime/build and runtime/config through their index.ts.',
      severity: 'error',
      from: { path: '^src/(deploy)/', pathNot: TESTS },
      to: { path: '^src/[^/]+/', pathNot: [...PUBLIC, '^src/runtime/(build|config)/index\\.ts$'] },
    },
    {
      name: 'no-deep-imports-from-tests',
      comment: "Tests may also use another part's testing/ helpers (fake clock, call builders).",
      severity: 'error',
      from: {
        path: '^src/([^/]+)/(testing/|.*/testing/|.*\\.test\\.ts$|.*\\.fixture\\.ts$|.*test-support\\.ts$)',
      },
      to: { path: '^src/[^/]+/', pathNot: [...PUBLIC, '^src/[^/]+/testing/'] },
    },
    {
      name: 'part-not-in-layering',
      comment: 'Every folder under src/ is a part with a place in `layers` (or the CLI).',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: `^src/(${parts.join('|')})/` },
      to: {},
    },
    {
      name: 'no-deep-imports-from-entry',
      comment: 'The package entry (src/index.ts) re-exports parts through their index.ts too.',
      severity: 'error',
      from: { path: '^src/[^/]+\\.ts$' },
      to: { path: '^src/[^/]+/', pathNot: '^src/[^/]+/index\\.ts$' },
    },
    {
      name: 'no-test-code-in-src',
      comment: 'Library code never imports tests, benchmarks or examples.',
      severity: 'error',
      from: { path: '^src/', pathNot: TESTS },
      to: { path: '^(test|bench|examples)/' },
    },
    {
      name: 'no-test-helpers-in-src',
      comment: 'Test helpers (testing/ folders, test-support.ts) are for tests only.',
      severity: 'error',
      from: { path: '^src/', pathNot: TESTS },
      to: { path: ['/testing/', '/test-support\\.ts$'] },
    },
    {
      name: 'nothing-imports-cli',
      severity: 'error',
      from: { pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
}
