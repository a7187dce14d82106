import type { Duplex } from "node:stream";
import {
  type BindingName,
  type CallHandle,
  type CallSink,
  type ClientTransport,
  Code,
  createJsonRpcClientTransport,
  createJsonRpcServerTransport,
  createNativeClientTransport,
  createNativeServerTransport,
  DEFAULT_MAX_FRAME_BYTES,
  IpcError,
  type JsonRpcClientOptions,
  type JsonRpcServerOptions,
  type NativeClientOptions,
  type NativeServerOptions,
  type OutgoingCall,
  type ServerFrameChannel,
  type ServerTransport,
} from "@protoipc/runtime";
import { createContentLengthFramer } from "./content-length-framer.js";
import type { StreamEndpoint } from "./endpoint.js";
import type { Framer } from "./framer.js";
import { createLengthPrefixFramer } from "./length-prefix-framer.js";
import { createStreamClientChannel } from "./stream-client-channel.js";
import {
  createStreamServerChannel,
  type StreamServerChannelOptions,
} from "./stream-server-channel.js";

/** The bindings the stream transports speak. */
export type StreamBinding = Extract<BindingName, "native" | "jsonrpc2">;

/** Options of {@link createStreamTransport}. */
export interface StreamTransportOptions extends NativeClientOptions, JsonRpcClientOptions {
  /** Where to connect (Unix socket or named pipe `{ path }`, TCP `{ host, port }`); or `connect`. */
  readonly endpoint?: StreamEndpoint;
  /** Opens the stream instead of `endpoint`, e.g. `() => childStdioDuplex(child)`. */
  readonly connect?: () => Duplex | Promise<Duplex>;
  /**
   * The binding; default the `binding` option of the service of the first call (so one
   * transport serves services of one binding).
   */
  readonly binding?: StreamBinding;
  /**
   * Framer; default {@link defaultFramer} of the binding: a length prefix without magic with
   * the native binding's 4 MiB frame limit, or Content-Length (16 MiB) for jsonrpc2.
   */
  readonly framer?: Framer;
}

/** Options of {@link createStreamServerTransport}. */
export interface StreamServerTransportOptions
  extends Omit<StreamServerChannelOptions, "framer">,
    NativeServerOptions,
    JsonRpcServerOptions {
  /** The binding served; default `native`. */
  readonly binding?: StreamBinding;
  /** Framer; default {@link defaultFramer} of the binding. */
  readonly framer?: Framer;
}

/**
 * The framer a binding uses on streams by default: `native` → `createLengthPrefixFramer` (no
 * magic, 4 MiB like every native transport), `jsonrpc2` → `createContentLengthFramer` (LSP
 * framing, 16 MiB).
 */
export function defaultFramer(binding: StreamBinding): Framer {
  return binding === "native"
    ? createLengthPrefixFramer({ maxFrameBytes: DEFAULT_MAX_FRAME_BYTES })
    : createContentLengthFramer();
}

function assertStreamBinding(binding: BindingName): StreamBinding {
  if (binding === "native" || binding === "jsonrpc2") return binding;
  throw new IpcError(
    `binding ${binding} is not spoken by the stream transports (native, jsonrpc2)`,
    Code.InvalidArgument,
  );
}

/**
 * A client transport over a stream: Unix socket, Windows named pipe, TCP, or a child's stdio,
 * speaking the native binding (one `protoipc.v1.Envelope` per length-prefixed frame) or jsonrpc2
 * (JSON-RPC 2.0 in Content-Length frames, interoperating with LSP-style peers such as
 * vscode-jsonrpc). Connects on the first call and again after the connection dropped (a
 * restarted server is found by the next call); a call made while nothing listens fails with
 * `Code.Unavailable` naming the endpoint. Calls in flight when the connection drops fail with
 * `Code.Unavailable` at once (a server that hangs without closing is found by the native
 * binding's heartbeats within 3 intervals).
 *
 * The transport owns its channel: `close()` fails pending calls and closes the connection.
 *
 * @throws IpcError Code.InvalidArgument when neither or both of `endpoint` and `connect` are
 *   given, or (from the first call) the service's binding is not native or jsonrpc2
 */
export function createStreamTransport(options: StreamTransportOptions): ClientTransport {
  const make = (binding: StreamBinding): ClientTransport => {
    const channel = createStreamClientChannel({
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.connect === undefined ? {} : { connect: options.connect }),
      framer: options.framer ?? defaultFramer(binding),
    });
    return binding === "native"
      ? createNativeClientTransport(channel, options)
      : createJsonRpcClientTransport(channel, options);
  };
  if ((options.endpoint === undefined) === (options.connect === undefined)) {
    throw new IpcError("give exactly one of endpoint and connect", Code.InvalidArgument);
  }
  if (options.binding !== undefined) return make(options.binding);
  return new LazyBindingTransport(make);
}

/** Picks the binding from the first call's service. */
class LazyBindingTransport implements ClientTransport {
  private inner: ClientTransport | undefined;
  private binding: StreamBinding | undefined;
  private closed = false;

  constructor(private readonly make: (binding: StreamBinding) => ClientTransport) {}

  start(call: OutgoingCall, sink: CallSink): CallHandle {
    if (this.closed) {
      sink.onError(new IpcError("transport is closed", Code.Unavailable));
      return { cancel() {} };
    }
    const wanted = call.method.service.binding;
    try {
      if (this.inner === undefined) {
        this.binding = assertStreamBinding(wanted);
        this.inner = this.make(this.binding);
      } else if (wanted !== this.binding) {
        throw new IpcError(
          `${call.method.service.typeName} uses binding ${wanted}, this transport speaks ${this.binding}`,
          Code.InvalidArgument,
        );
      }
    } catch (e) {
      sink.onError(IpcError.from(e, Code.InvalidArgument));
      return { cancel() {} };
    }
    return this.inner.start(call, sink);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.inner?.close();
  }
}

/**
 * A server transport over a listening Unix socket, named pipe or TCP port, speaking `binding`
 * (default native). The socket file is made 0600 (see `socketMode`) and removed on close. Use
 * `listenDaemon` for the XDG runtime directory, stale-socket reclaim and inactivity exit.
 *
 * The server that listens on it owns it: `close()` aborts running handlers, closes every
 * connection and removes the socket file.
 */
export function createStreamServerTransport(
  options: StreamServerTransportOptions,
): ServerTransport {
  const binding = options.binding ?? "native";
  const channel = createStreamServerChannel({
    ...options,
    framer: options.framer ?? defaultFramer(binding),
  });
  return serverTransportFor(binding, channel, options);
}

/**
 * The server side of `binding` on any server frame channel (a stream listener, stdio, a
 * daemon's guarded channel).
 */
export function serverTransportFor(
  binding: StreamBinding,
  channel: ServerFrameChannel,
  options: NativeServerOptions & JsonRpcServerOptions = {},
): ServerTransport {
  return binding === "native"
    ? createNativeServerTransport(channel, options)
    : createJsonRpcServerTransport(channel, options);
}
