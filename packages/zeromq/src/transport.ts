import {
  type ClientTransport,
  createNativeClientTransport,
  createNativeServerTransport,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  type NativeClientOptions,
  type NativeServerOptions,
  type ServerTransport,
} from "@protoipc/runtime";
import { createZmqDealerChannel } from "./dealer-channel.js";
import type { ZmqDealerChannelOptions, ZmqRouterChannelOptions } from "./options.js";
import { createZmqRouterChannel } from "./router-channel.js";

/**
 * Options of {@link createZmqTransport}: where to connect (`address`, `ipc://…` or `tcp://…`),
 * the DEALER channel's limits and keepalive, and the native binding's client options
 * (`heartbeatIntervalMs`: application heartbeats, separate from `zmtpHeartbeatIntervalMs`).
 */
export interface ZmqTransportOptions extends ZmqDealerChannelOptions, NativeClientOptions {}

/**
 * Options of {@link createZmqServerTransport}: where to bind (`bind`, `ipc://…` or `tcp://…`),
 * the ROUTER channel's limits and keepalive, and the native binding's server options.
 */
export interface ZmqServerTransportOptions extends ZmqRouterChannelOptions, NativeServerOptions {}

/**
 * A client transport speaking the native protoipc binding over a ZeroMQ DEALER socket connected
 * to `options.address`. Connecting happens in the background and is retried forever (backing off
 * to `reconnectMaxIntervalMs`, by default the heartbeat interval capped at 2 s); calls made before
 * the server is up wait, and fail with `Code.Unavailable` when nothing answers for 2.5 heartbeat
 * intervals.
 *
 * The transport owns its channel and socket: `close()` on the transport fails pending calls with
 * `Code.Unavailable` and closes the socket.
 *
 * @throws IpcError Code.InvalidArgument when an option is out of range or `address` is not an
 *   `ipc://` or `tcp://` endpoint
 */
export function createZmqTransport(options: ZmqTransportOptions): ClientTransport {
  // Reconnect at least once per heartbeat interval, so a restarted server is found before the
  // binding's liveness window (2.5 intervals) fails the calls waiting for it.
  const heartbeatMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const channel = createZmqDealerChannel({
    reconnectMaxIntervalMs: Math.min(2000, Math.max(100, heartbeatMs)),
    ...options,
  });
  return createNativeClientTransport(channel, options);
}

/**
 * A server transport speaking the native protoipc binding over a ZeroMQ ROUTER socket bound to
 * `options.bind` when the server listens. For `ipc://`, the path must lie in a private (0700)
 * directory; the socket file is made 0600 and removed on close.
 *
 * The transport owns its channel and socket: `close()` on the transport aborts running handlers
 * with `Code.Unavailable`, closes the socket and releases the endpoint.
 *
 * @throws IpcError Code.InvalidArgument when an option is out of range or `bind` is not an
 *   `ipc://` or `tcp://` endpoint
 */
export function createZmqServerTransport(options: ZmqServerTransportOptions): ServerTransport {
  return createNativeServerTransport(createZmqRouterChannel(options), options);
}
