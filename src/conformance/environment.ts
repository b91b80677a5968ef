/**
 * What a node under test is told when the conformance runner starts it
 * (docs/protocol.md, section 8 "Conformance"). The runner sets these variables in the
 * environment of the command it is given; the command must start one node that hosts the
 * conformance service and joins through the named transport.
 */
export const CONFORMANCE_ENV = {
  /** `socket` or `nats`. */
  transport: 'TESSERA_CONFORMANCE_TRANSPORT',
  /** The node id to use, exactly (it is chosen to need escaping). */
  nodeId: 'TESSERA_CONFORMANCE_NODE_ID',
  /** Socket: the discovery directory (exists, mode 0700). */
  dir: 'TESSERA_CONFORMANCE_DIR',
  /** NATS: the server URL. */
  natsUrl: 'TESSERA_CONFORMANCE_NATS_URL',
  /** NATS: the namespace (one subject token). The node names no unit: its unit token is `_`. */
  namespace: 'TESSERA_CONFORMANCE_NAMESPACE',
  /** The name of the service to host (`conformance`). */
  service: 'TESSERA_CONFORMANCE_SERVICE',
  /**
   * Only in the identity run (`--identity`): the node's credential as JSON
   * `{ certificate, privateKey, authority }` (docs/protocol.md §4.2), issued by an
   * authority the runner made for the run.
   */
  credential: 'TESSERA_CONFORMANCE_CREDENTIAL',
} as const

/** The service the node under test hosts, and the one the runner hosts for calls back. */
export const CONFORMANCE_SERVICE = 'conformance'
export const PROBE_SERVICE = 'probe'

/**
 * The actions of the conformance service, as the node under test must implement them:
 * - `echo(x)` answers `x` unchanged;
 * - `fail({ code, message })` answers RESPONSE_ERROR with that code and message;
 * - `wait({ ms })` answers `{ waited: ms }` after `ms` milliseconds, and stops at once
 *   with CANCELLED when the call is cancelled;
 * - `relay({ value })` calls `probe.echo({ value })` on the peer hosting `probe` (the
 *   runner) and answers what it returned.
 */
export const CONFORMANCE_ACTIONS = ['echo', 'fail', 'wait', 'relay'] as const

/** The node id the runner gives the node under test: it needs escaping in file names and subjects. */
export const ODD_NODE_ID = 'conf node.1+*>é'
