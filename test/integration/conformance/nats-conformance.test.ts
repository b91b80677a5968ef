import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatResult, runConformance } from '../../../src/conformance/index.ts'
import { type NatsServer, startNatsServer } from '../../support/nats-server.ts'
import { fixtureCommand } from './fixture-command.ts'

let server: NatsServer
beforeAll(async () => {
  server = await startNatsServer()
})
afterAll(() => server?.stop())

const failures = (results: { rule: string; section: string; ok: boolean }[]) =>
  results.filter((r) => !r.ok).map((r) => `${r.section} ${r.rule}`)
/** The failed rules' lines with their details, for the assertion's message. */
const failed = (results: Parameters<typeof formatResult>[0][]) =>
  results
    .filter((r) => !r.ok)
    .map(formatResult)
    .join('\n')

// The runs are independent (a fresh namespace each) and mostly wait on the node under
// test, so they run at once: one after another they took ~110 s.
describe.concurrent('tessera conformance over NATS', () => {
  it('passes every rule against a real Tessera node', async () => {
    const results = await runConformance({
      transport: 'nats',
      natsUrl: server.url,
      command: fixtureCommand('tessera-node.ts'),
    })
    expect(failures(results), failed(results)).toEqual([])
    expect(results.map((r) => r.rule)).toEqual(
      expect.arrayContaining([
        'hello-on-discovery',
        'subject-escaping',
        'nodeinfo-valid',
        'hello-answered-directly',
        'heartbeat-carries-seq',
        'request-answered',
        'typed-error',
        'unknown-action',
        'unknown-service',
        'cancel-stops-handler',
        'calls-out',
        'reads-batches',
        'asks-unknown-pinger',
        'bye-forgets-peer',
        'silence-forgets-peer',
        'probe-not-answered',
        'liveness-ping-answered',
        'probes-its-share',
        'probed-not-judged-by-silence',
        'leave-says-bye',
      ]),
    )
    // Tessera announces batches and watching, so those rules were really exercised.
    expect(results.find((r) => r.rule === 'reads-batches')?.detail).toBe('')
    expect(results.find((r) => r.rule === 'probes-its-share')?.detail).toBe('')
    expect(results.find((r) => r.rule === 'liveness-ping-answered')?.detail).toBe('')
  }, 90_000)

  it('fails subject-escaping (§6.1), naming both subjects, against a node that leaves + unescaped', async () => {
    const results = await runConformance({
      transport: 'nats',
      natsUrl: server.url,
      command: fixtureCommand('wrong-escaping-nats-node.ts'),
    })
    const rule = results.find((r) => r.rule === 'subject-escaping')
    expect(rule?.ok).toBe(false)
    expect(rule?.section).toBe('§6.1')
    expect(rule?.detail).toMatch(
      /discovery\._\.conf%20node%2E1\+%2A.*expected .*discovery\._\.conf%20node%2E1%2B%2A/,
    )
    // What the escaping breaks follows: the calls addressed to the right subject go unanswered.
    expect(failures(results)).toContain('§5.1 request-answered')
    // Every rule that waits for the node runs into its own time limit: the slowest run.
  }, 150_000)

  it('passes the identity rules (--identity) against a Tessera node holding the credential it is given', async () => {
    const results = await runConformance({
      transport: 'nats',
      natsUrl: server.url,
      identity: true,
      command: fixtureCommand('tessera-node.ts'),
    })
    expect(failures(results), failed(results)).toEqual([])
    expect(results.filter((r) => r.section === '§6.5' || r.section === '§5.5').map((r) => r.rule)).toEqual([
      'nats-identity-hello-cert',
      'nats-identity-announce-cert',
      'identity-proven-peer-served',
      'principal-without-proof-refused',
      'principal-proof-accepted',
      'principal-proof-forwarded',
      'nats-identity-ignores-uncertified',
      'nats-identity-ignores-other-unit',
    ])
  }, 120_000)

  it('fails nats-identity-hello-cert (§6.5) against a node that ignores its credential', async () => {
    const results = await runConformance({
      transport: 'nats',
      natsUrl: server.url,
      identity: true,
      command: fixtureCommand('tessera-node.ts', '--break', 'no-identity'),
    })
    expect(failures(results)).toEqual(['§6.5 nats-identity-hello-cert'])
  }, 120_000)

  it('fails nodeinfo-valid (§3.5) against a node whose announcement lacks an action flag', async () => {
    const results = await runConformance({
      transport: 'nats',
      natsUrl: server.url,
      command: fixtureCommand('tessera-node.ts', '--break', 'malformed-announce'),
    })
    expect(failures(results)).toContain('§3.5 nodeinfo-valid')
  }, 90_000)
})
