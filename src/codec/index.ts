export {
  type AnnounceAuth,
  type ControlMessage,
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  type HelloAuth,
  Kind,
} from './message-codec.ts'
