import { createPublicKey, type KeyObject, verify } from 'node:crypto'

/**
 * Who a node is, as the runtime vouches for it: the unit it belongs to and the services
 * it may host. Peers learn it from the node's certificate, never from what the node says
 * about itself in HELLO or ANNOUNCE.
 */
export interface Identity {
  /** The node id the certificate was issued to. */
  node: string
  /** The unit (config entry) the node runs; adapter units (a gateway) have no services. */
  unit: string
  /** Services the node may host and call as. */
  services: string[]
  /**
   * Also any service not named here: for units whose code adds services of its own at run
   * time (an HTTP gateway's event subscriber), the list is every service other units of
   * the system own, so such a node still cannot pose as one of them.
   */
  hostsAnyExcept?: string[]
  /**
   * May assert a principal (who a call is made for) on calls it starts: true for units
   * that verify end users, such as the HTTP gateway. Others can only pass on a principal
   * they were given, signed by such a node.
   */
  assertsPrincipal: boolean
}

/** The certificate's signed body. `key` is the node's Ed25519 public key (SPKI DER, base64url). */
interface CertificateBody extends Identity {
  v: 1
  key: string
  /** Issued at, ms since the epoch (for logs). */
  iat: number
  /**
   * A unit's delegation (decision 0031): `key` may sign node certificates of exactly this
   * identity (any node id, `node` is `*`). Never a node's certificate on its own.
   */
  delegate?: true
}

/** Between a delegation and the node certificate it signed, in one chained certificate. */
export const CHAIN_SEPARATOR = '~'

const FORMAT = 'tessera-cert-v1'

/** `base64url(json).base64url(signature)`, signed by the authority. */
export type Certificate = string

export function encodeCertificate(
  body: Omit<CertificateBody, 'v'>,
  sign: (data: Buffer) => Buffer,
): Certificate {
  const json = Buffer.from(JSON.stringify({ v: 1, ...body }))
  const payload = json.toString('base64url')
  return `${payload}.${sign(Buffer.from(`${FORMAT}.${payload}`)).toString('base64url')}`
}

/** A verified certificate: who the holder is and the key it proves that with. */
export interface VerifiedCertificate {
  identity: Identity
  key: KeyObject
}

/**
 * Checks a certificate against the authority's public key. Undefined for anything that
 * is not a well-formed certificate with a valid signature: the caller refuses the peer.
 * Results are cached (by the certificate string), so a busy peer costs one signature
 * check per certificate, not one per use.
 */
export function verifyCertificate(cert: unknown, authority: KeyObject): VerifiedCertificate | undefined {
  if (typeof cert !== 'string' || cert.length > 8192) return undefined
  const cached = verified.get(cert)
  if (cached && cached.authority === authority) return cached.result
  const result = verifyChain(cert, authority)
  if (!result) return undefined
  if (verified.size >= MAX_CACHED) verified.clear()
  verified.set(cert, { authority, result })
  return result
}

/**
 * A plain certificate (signed by the authority) or a chain `delegation~node`: the
 * delegation signed by the authority, the node's signed by the delegation's key and
 * naming exactly the delegation's identity (unit, services, principal right), any node
 * id. A delegation alone is no node's certificate.
 */
function verifyChain(cert: string, authority: KeyObject): VerifiedCertificate | undefined {
  const parts = cert.split(CHAIN_SEPARATOR)
  if (parts.length === 1) {
    const plain = verifySigned(cert, authority)
    return plain && !plain.delegate ? plain.result : undefined
  }
  if (parts.length !== 2) return undefined
  const delegation = verifySigned(parts[0]!, authority)
  if (!delegation?.delegate) return undefined
  const node = verifySigned(parts[1]!, delegation.result.key)
  if (!node || node.delegate) return undefined
  return sameRights(delegation.result.identity, node.result.identity) ? node.result : undefined
}

function verifySigned(
  cert: string,
  key: KeyObject,
): { result: VerifiedCertificate; delegate: boolean } | undefined {
  if (cert.length > 4096) return undefined
  const dot = cert.indexOf('.')
  if (dot <= 0) return undefined
  const payload = cert.slice(0, dot)
  const signature = Buffer.from(cert.slice(dot + 1), 'base64url')
  if (!verify(null, Buffer.from(`${FORMAT}.${payload}`), key, signature)) return undefined
  return parseBody(payload)
}

function sameRights(a: Identity, b: Identity): boolean {
  const list = (l: string[] | undefined) => JSON.stringify(l ?? null)
  return (
    a.unit === b.unit &&
    a.assertsPrincipal === b.assertsPrincipal &&
    list(a.services) === list(b.services) &&
    list(a.hostsAnyExcept) === list(b.hostsAnyExcept)
  )
}

const MAX_CACHED = 4096
const verified = new Map<string, { authority: KeyObject; result: VerifiedCertificate }>()

function parseBody(payload: string): { result: VerifiedCertificate; delegate: boolean } | undefined {
  try {
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Partial<CertificateBody>
    if (
      body.v !== 1 ||
      typeof body.node !== 'string' ||
      typeof body.unit !== 'string' ||
      !Array.isArray(body.services) ||
      !body.services.every((s) => typeof s === 'string') ||
      typeof body.assertsPrincipal !== 'boolean' ||
      typeof body.key !== 'string' ||
      (body.delegate !== undefined && body.delegate !== true) ||
      (body.hostsAnyExcept !== undefined &&
        !(Array.isArray(body.hostsAnyExcept) && body.hostsAnyExcept.every((s) => typeof s === 'string')))
    )
      return undefined
    const key = createPublicKey({ key: Buffer.from(body.key, 'base64url'), format: 'der', type: 'spki' })
    if (key.asymmetricKeyType !== 'ed25519') return undefined
    return {
      result: {
        identity: {
          node: body.node,
          unit: body.unit,
          services: body.services,
          assertsPrincipal: body.assertsPrincipal,
          ...(body.hostsAnyExcept ? { hostsAnyExcept: body.hostsAnyExcept } : {}),
        },
        key,
      },
      delegate: body.delegate === true,
    }
  } catch {
    return undefined
  }
}

/** Whether a node of this identity may host (and call as) service `name`. */
export function mayHost(identity: Identity, name: string): boolean {
  if (identity.services.includes(name)) return true
  return identity.hostsAnyExcept !== undefined && !identity.hostsAnyExcept.includes(name)
}
