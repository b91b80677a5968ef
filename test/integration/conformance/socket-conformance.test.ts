import { describe, expect, it } from 'vitest'
import { formatResult, runConformance } from '../../../src/conformance/index.ts'
import { fixtureCommand } from './fixture-command.ts'

const failures = (results: { rule: string; section: string; ok: boolean }[]) =>
  results.filter((r) => !r.ok).map((r) => `${r.section} ${r.rule}`)
/** The failed rules' lines with their details, for the assertion's message. */
const failed = (results: Parameters<typeof formatResult>[0][]) =>
  results
    .filter((r) => !r.ok)
    .map(formatResult)
    .join('\n')

// The runs are independent (a fresh discovery directory each) and mostly wait on the node
// under test, so they run at once.
describe.concurrent('tessera conformance over the socket transport', () => {
  it('passes every rule against a real Tessera node', async () => {
    const results = await runConformance({ transport: 'socket', command: fixtureCommand('tessera-node.ts') })
    expect(failures(results), failed(results)).toEqual([])
    // Every rule of the socket run was decided, none skipped because an earlier one failed.
    expect(results.map((r) => r.rule)).toEqual(
      expect.arrayContaining([
        'discovery-entry',
        'hello-first',
        'nodeinfo-valid',
        'ping-answered',
        'request-answered',
        'typed-error',
        'unknown-action',
        'unknown-service',
        'cancel-stops-handler',
        'calls-out',
        'violation-closes-that-connection',
        'bye-ends-connection',
        'duplicate-ends-with-fin',
        'dropped-connection-still-read',
        'pings-idle-connection',
        'closes-silent-connection',
        'dials-new-entries',
        'cross-duplicate-keeps-runner-dialled',
        'cross-duplicate-keeps-node-dialled',
        'refused-once-not-removed',
        'stale-socket-removed',
        'stale-address-file-removed',
        'leave-says-bye-then-fin',
        'leave-removes-entry',
      ]),
    )
  }, 90_000)

  it('fails the duplicate rules (§4.4), and only them, against a node that says BYE on a duplicate', async () => {
    const results = await runConformance({
      transport: 'socket',
      command: fixtureCommand('tessera-node.ts', '--break', 'bye-on-duplicate'),
    })
    expect(failures(results)).toEqual([
      '§4.4 duplicate-ends-with-fin',
      '§4.4 cross-duplicate-keeps-runner-dialled',
      '§4.4 cross-duplicate-keeps-node-dialled',
    ])
    for (const r of results.filter((r) => !r.ok)) expect(r.detail).toMatch(/got BYE/)
  }, 90_000)

  it('fails nodeinfo-valid (§3.5) against a node whose announcement lacks an action flag', async () => {
    const results = await runConformance({
      transport: 'socket',
      command: fixtureCommand('tessera-node.ts', '--break', 'malformed-announce'),
    })
    expect(failures(results)).toContain('§3.5 nodeinfo-valid')
    expect(results.find((r) => r.rule === 'nodeinfo-valid')?.detail).toMatch(/bad action info/)
  }, 90_000)

  it('passes the identity rules (--identity) against a Tessera node holding the credential it is given', async () => {
    const results = await runConformance({
      transport: 'socket',
      identity: true,
      command: fixtureCommand('tessera-node.ts'),
    })
    expect(failures(results), failed(results)).toEqual([])
    expect(results.filter((r) => r.section === '§4.2' || r.section === '§5.5').map((r) => r.rule)).toEqual([
      'identity-hello-auth',
      'identity-proof',
      'identity-proven-peer-served',
      'principal-without-proof-refused',
      'principal-proof-accepted',
      'principal-proof-forwarded',
      'principal-proof-expired-refused',
      'identity-refuses-no-credential',
      'identity-refuses-foreign-authority',
      'identity-refuses-bad-proof',
    ])
  }, 120_000)

  it('fails identity-hello-auth (§4.2) against a node that ignores its credential', async () => {
    const results = await runConformance({
      transport: 'socket',
      identity: true,
      command: fixtureCommand('tessera-node.ts', '--break', 'no-identity'),
    })
    expect(failures(results)).toEqual(['§4.2 identity-hello-auth'])
    expect(results.find((r) => r.rule === 'identity-hello-auth')?.detail).toBe(
      'HELLO carries no { certificate, nonce }',
    )
  }, 120_000)

  it('fails discovery-entry with the node’s output when the command does not start a node', async () => {
    const results = await runConformance({
      transport: 'socket',
      command: [process.execPath, '-e', 'console.error("no node here"); process.exit(3)'],
    })
    expect(results).toHaveLength(1)
    expect(results[0]).toMatchObject({ rule: 'discovery-entry', section: '§1.1', ok: false })
    expect(results[0]?.detail).toMatch(/exit code 3.*no node here/s)
  }, 30_000)
})
