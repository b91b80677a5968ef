export { type ControlMessage, decodeEnvelope, type Envelope, encodeEnvelope, Kind } from './message-codec.ts'
