import type { AnnounceAuth } from '../../codec/index.ts'
import { type Identity, type LoadedCredential, mayHost, verifyCertificate } from '../../identity/index.ts'
import type { Logger } from '../../observability/index.ts'
import type { NodeInfo } from '../../wire/index.ts'
import { nodeToken } from './subjects.ts'

/** Who published a message, as its subject says (the server vouches for it, decision 0014). */
export interface Sender {
  /** The unit token of the subject. */
  unit: string
  nodeId: string
}

/** Refused senders kept at most; a flood of made-up ids cannot grow memory without bound. */
const MAX_REFUSED = 4096
/** Distinct reasons logged per refused sender; past that it is refused silently. */
const MAX_REASONS = 4

/**
 * Decides whether an announcement (HELLO / ANNOUNCE) makes its sender a peer. Without a
 * credential every announcement does, with no identity. With one, the announcement must
 * carry a certificate of this system's authority issued to the node id and the unit the
 * subject names; the peer is then known with that identity and only the services it
 * allows. A refused sender is logged once (per reason), not once per heartbeat, and is
 * not asked for its info again until it has been silent for `forgetMs`.
 */
export class PeerVetting {
  readonly #credential: LoadedCredential | undefined
  readonly #logger: Logger
  /** `<unit>.<node>` → the reasons it was refused for (each logged once) and when it was last heard. */
  readonly #refused = new Map<string, { whys: Set<string>; lastSeen: number }>()

  constructor(credential: LoadedCredential | undefined, logger: Logger) {
    this.#credential = credential
    this.#logger = logger
  }

  /** The NodeInfo to report for the sender, or undefined when it is refused (logged). */
  vet(sender: Sender, info: NodeInfo, auth: AnnounceAuth | undefined): NodeInfo | undefined {
    const credential = this.#credential
    if (!credential) return withoutIdentity(info)
    const checked = this.#check(credential, sender, auth)
    if (typeof checked === 'string') {
      this.refuse(sender, checked)
      return undefined
    }
    this.#refused.delete(keyOf(sender))
    const services = info.services.filter((s) => mayHost(checked, s.name))
    if (services.length !== info.services.length) {
      const dropped = info.services.filter((s) => !mayHost(checked, s.name)).map((s) => s.name)
      this.#logger.warn(
        { peer: info.nodeId, unit: checked.unit, dropped },
        'nats: peer announced services its identity does not allow',
      )
    }
    return { ...info, services, identity: checked }
  }

  /** True (and the sender's silence clock reset) when the sender was refused lately. */
  refusedLately(sender: Sender, now: number): boolean {
    const entry = this.#refused.get(keyOf(sender))
    if (entry === undefined) return false
    entry.lastSeen = now
    return true
  }

  /** Forgets refused senders silent since `cutoff`: they are checked (and logged) anew. */
  forget(cutoff: number): void {
    for (const [key, entry] of this.#refused) if (entry.lastSeen < cutoff) this.#refused.delete(key)
  }

  #check(credential: LoadedCredential, sender: Sender, auth: AnnounceAuth | undefined): Identity | string {
    if (auth === undefined) return 'it presented no certificate'
    const cert = verifyCertificate(auth.certificate, credential.authority)
    if (!cert) return 'no valid certificate from this system'
    const { identity } = cert
    if (identity.node !== sender.nodeId) {
      return `certificate issued to ${identity.node}, presented by ${sender.nodeId}`
    }
    if (nodeToken(identity.unit) !== sender.unit) {
      return `certificate of unit ${identity.unit}, published as unit ${sender.unit}`
    }
    return identity
  }

  /** Logs a refused sender, once per sender and reason, and remembers it. */
  refuse(sender: Sender, why: string): void {
    const key = keyOf(sender)
    let entry = this.#refused.get(key)
    if (entry === undefined) {
      if (this.#refused.size >= MAX_REFUSED) this.#refused.clear()
      entry = { whys: new Set(), lastSeen: 0 }
      this.#refused.set(key, entry)
    }
    entry.lastSeen = Date.now()
    if (entry.whys.has(why) || entry.whys.size >= MAX_REASONS) return
    entry.whys.add(why)
    this.#logger.warn(
      { peer: sender.nodeId, unit: sender.unit, why },
      'nats: peer refused: no valid identity',
    )
  }
}

function keyOf(sender: Sender): string {
  return `${sender.unit}.${sender.nodeId}`
}

/** What is sent of a NodeInfo, and taken of one without a credential: identity is never a claim. */
export function withoutIdentity(info: NodeInfo): NodeInfo {
  if (info.identity === undefined) return info
  const { identity: _, ...rest } = info
  return rest
}
