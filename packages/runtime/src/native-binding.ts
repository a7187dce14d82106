/**
 * The native binding: protoipc's own protocol, one `protoipc.v1.Envelope` per frame
 * (proto/protoipc/v1/envelope.proto), over any frame channel.
 */

export {
  decodeEnvelope,
  type Envelope,
  type EnvelopeInit,
  encodeEnvelope,
  FrameKind,
  type WireHello,
  type WireStatus,
} from "./envelope-codec.js";
/** The generated schema of `protoipc.v1.Envelope`, for tools that want the reference codec. */
export { EnvelopeSchema } from "./gen/protoipc/v1/envelope_pb.js";
export {
  createNativeClientTransport,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  NATIVE_PROTOCOL_VERSION,
  type NativeClientOptions,
} from "./native-client.js";
export { createNativeServerTransport, type NativeServerOptions } from "./native-server.js";
