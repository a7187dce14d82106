import type { Duplex } from "node:stream";
import {
  type ClientTransport,
  createNativeClientTransport,
  createNativeServerTransport,
  DEFAULT_MAX_FRAME_BYTES,
  type NativeClientOptions,
  type NativeServerOptions,
  type ServerTransport,
} from "@protoipc/runtime";
import type { StreamEndpoint } from "./endpoint.js";
import type { Framer } from "./framer.js";
import { createLengthPrefixFramer } from "./length-prefix-framer.js";
import { createStreamClientChannel } from "./stream-client-channel.js";
import {
  createStreamServerChannel,
  type StreamServerChannelOptions,
} from "./stream-server-channel.js";

/** Options of {@link createStreamTransport}. */
export interface StreamTransportOptions extends NativeClientOptions {
  /** Where to connect (Unix socket or named pipe `{ path }`, TCP `{ host, port }`); or `connect`. */
  readonly endpoint?: StreamEndpoint;
  /** Opens the stream instead of `endpoint`, e.g. `() => childStdioDuplex(child)`. */
  readonly connect?: () => Duplex | Promise<Duplex>;
  /**
   * Framer; default a length prefix without magic, with the native binding's 4 MiB frame limit
   * (`createLengthPrefixFramer({ maxFrameBytes: DEFAULT_MAX_FRAME_BYTES })`).
   */
  readonly framer?: Framer;
}

/** Options of {@link createStreamServerTransport}. */
export interface StreamServerTransportOptions
  extends Omit<StreamServerChannelOptions, "framer">,
    NativeServerOptions {
  /**
   * Framer; default a length prefix without magic, with the native binding's 4 MiB frame limit
   * (`createLengthPrefixFramer({ maxFrameBytes: DEFAULT_MAX_FRAME_BYTES })`).
   */
  readonly framer?: Framer;
}

/**
 * A client transport speaking the native protoipc binding (one `protoipc.v1.Envelope` per frame)
 * over a stream: Unix socket, Windows named pipe, TCP, or a child's stdio. Connects on the first
 * call and again after the connection dropped (a restarted server is found by the next call);
 * a call made while nothing listens fails with `Code.Unavailable` naming the endpoint. Calls in
 * flight when the server dies fail with `Code.Unavailable` within 3 heartbeat intervals.
 *
 * The transport owns its channel: `close()` fails pending calls and closes the connection.
 *
 * @throws IpcError Code.InvalidArgument when neither or both of `endpoint` and `connect` are given
 */
export function createStreamTransport(options: StreamTransportOptions): ClientTransport {
  const channel = createStreamClientChannel({
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.connect === undefined ? {} : { connect: options.connect }),
    framer: options.framer ?? createLengthPrefixFramer({ maxFrameBytes: DEFAULT_MAX_FRAME_BYTES }),
  });
  return createNativeClientTransport(channel, options);
}

/**
 * A server transport speaking the native protoipc binding over a listening Unix socket, named
 * pipe or TCP port; the socket file is made 0600 (see `socketMode`) and removed on close. Use
 * `listenDaemon` for the XDG runtime directory, stale-socket reclaim and inactivity exit.
 *
 * The server that listens on it owns it: `close()` aborts running handlers, closes every
 * connection and removes the socket file.
 */
export function createStreamServerTransport(
  options: StreamServerTransportOptions,
): ServerTransport {
  const channel = createStreamServerChannel({
    ...options,
    framer: options.framer ?? createLengthPrefixFramer({ maxFrameBytes: DEFAULT_MAX_FRAME_BYTES }),
  });
  return createNativeServerTransport(channel, options);
}
