import { type Static, Type as T } from '@sinclair/typebox'

/** A host name as agents take it (`tessera up --host NAME`): also a NATS KV key part. */
export const HostName = T.String({
  pattern: '^[a-z0-9][a-z0-9-]*$',
  maxLength: 63,
  description: 'lowercase letters, digits, dashes',
})

/**
 * Config `placement` of a service or group: which hosts of a system run over many hosts
 * (src/runtime/hosts, docs/hosts.md) may run its instances. `hosts` names them; `labels`
 * must all match a host's (`--labels zone=a,disk=ssd`). Both given: both must hold.
 * Absent: anywhere. A system run by one plain `tessera up` ignores it.
 */
export const PlacementConfig = T.Object(
  {
    hosts: T.Optional(T.Array(HostName, { minItems: 1 })),
    labels: T.Optional(T.Record(T.String({ pattern: '^[A-Za-z0-9_.-]+$' }), T.String())),
  },
  { additionalProperties: false },
)

export type PlacementConfig = Static<typeof PlacementConfig>
