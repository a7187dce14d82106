export { createZmqDealerChannel, type ZmqDealerChannel } from "./dealer-channel.js";
export {
  DEFAULT_ZMQ_HIGH_WATER_MARK,
  DEFAULT_ZMTP_HEARTBEAT_INTERVAL_MS,
  type ZmqChannelOptions,
  type ZmqDealerChannelOptions,
  type ZmqRouterChannelOptions,
} from "./options.js";
export { createZmqRouterChannel, type ZmqRouterChannel } from "./router-channel.js";
export {
  createZmqTaggedTransport,
  DEFAULT_LEGACY_SUBSCRIBE_GRACE_MS,
  DEFAULT_TAGGED_MAX_QUEUED_CALLS,
  DEFAULT_TAGGED_MAX_RETRIES,
  DEFAULT_TAGGED_REQUEST_TIMEOUT_MS,
  SUBSCRIPTION_CONFIRM_PREFIX,
  type ZmqTaggedTransportOptions,
} from "./tagged-client.js";
export {
  createZmqTaggedServerTransport,
  type ZmqTaggedServerTransport,
  type ZmqTaggedServerTransportOptions,
} from "./tagged-server.js";
export {
  createZmqServerTransport,
  createZmqTransport,
  type ZmqServerTransportOptions,
  type ZmqTransportOptions,
} from "./transport.js";
