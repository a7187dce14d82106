export { runCli } from "./cli.js";
export * from "./curve.js";
export * from "./hydra-envelope.js";
export * from "./hydra-json.js";
export * from "./hydra-transport.js";
export * from "./router.js";
export {
  decodeRouterFrame,
  encodeBroadcastFrame,
  encodeCallFrame,
  encodeRouterFrame,
  HEARTBEAT_FRAME,
  type PeerRoleName,
  peekEnvelopeHead,
  ROUTER_PROTOCOL_VERSION,
} from "./router-frames.js";
export * from "./router-peer.js";
export { DEFAULT_MAX_QUEUED_FRAMES_PER_PEER, type RouterSocketCounters } from "./router-socket.js";
export * from "./router-transport.js";
