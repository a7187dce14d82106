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
  createZmqServerTransport,
  createZmqTransport,
  type ZmqServerTransportOptions,
  type ZmqTransportOptions,
} from "./transport.js";
