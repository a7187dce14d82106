/**
 * The Hydra binding: a generated client or server (a service with `binding: BINDING_HYDRA`, such
 * as `hydra.v1.SimulationService`) speaking AI Hydra's exact JSON envelope (PROTOCOLS.md §2) to a
 * Hydra router, Hydra's own or protoipc's `createRouter({ protocol: "hydra" })`.
 *
 * Mapping: a method's `wire_name` is the elem of its request and its response message's
 * `wire_name` the elem of the reply; `data` is the message as Hydra JSON (hydra-json.ts). Each
 * call carries a fresh `request_id`; a reply is matched by it when the router keeps it (protoipc's
 * router), else, as Hydra's router strips it, by elem: the oldest pending call waiting for that
 * elem gets it. An `error` elem fails the call it answers with an `IpcError` whose code is named
 * by `error_type` (`Code.Unknown` when it names none). Only unary methods exist on this wire.
 */
import {
  create,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  type AnyMethodDescriptor,
  type CallHandle,
  type CallSink,
  type ClientTransport,
  Code,
  codeToString,
  type Dispatcher,
  type IncomingCallInit,
  IpcError,
  type OutgoingCall,
  type ServerTransport,
  type ServiceDescriptor,
} from "@protoipc/runtime";
import { Dealer } from "zeromq";
import { type CurveClientOptions, curveClientSocketOptions } from "./curve.js";
import {
  encodeHydraEnvelope,
  type HydraIncoming,
  type HydraSender,
  parseHydraIncoming,
} from "./hydra-envelope.js";
import {
  type JsonValue,
  messageFromHydraJson,
  messageToHydraJson,
  messageWireName,
} from "./hydra-json.js";
import { DEFAULT_ROUTER_HEARTBEAT_MS } from "./router-frames.js";

/** Options shared by the Hydra client and server transports. */
export interface HydraTransportOptions {
  /** The Hydra router's endpoint, e.g. `tcp://127.0.0.1:5556`. */
  readonly address: string;
  /**
   * The peer's `client_id`, also its ZeroMQ routing id; default
   * `"<HydraClient|HydraServer>-<random 1000..9999>"`, as Hydra's MQClient does.
   */
  readonly clientId?: string;
  /** Interval of the registering heartbeats, in milliseconds; default 5000 (Hydra's). */
  readonly heartbeatIntervalMs?: number;
  /** ZeroMQ CURVE keys, when the router requires CURVE (Hydra's own router does not). */
  readonly curve?: CurveClientOptions;
}

/** The Hydra JSON socket of one peer: a DEALER, heartbeats, one writer, one reader. */
class HydraSocket {
  readonly clientId: string;
  private readonly socket: Dealer;
  private readonly queue: Uint8Array[] = [];
  private writing = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly sender: HydraSender,
    options: HydraTransportOptions,
    private readonly onIncoming: (m: HydraIncoming) => void,
  ) {
    this.clientId = options.clientId ?? defaultClientId(sender);
    if (this.clientId === "" || Buffer.byteLength(this.clientId) > 255) {
      throw new IpcError(
        `clientId of ${Buffer.byteLength(this.clientId)} bytes must be 1..255 bytes`,
        Code.InvalidArgument,
      );
    }
    this.socket = new Dealer({
      linger: 0,
      routingId: this.clientId,
      sendTimeout: 10,
      reconnectInterval: 100,
      reconnectMaxInterval: 2000,
      ...curveClientSocketOptions(options.curve),
    });
    this.socket.connect(options.address);
    void this.readLoop();
    const heartbeatMs = options.heartbeatIntervalMs ?? DEFAULT_ROUTER_HEARTBEAT_MS;
    this.heartbeat();
    this.timer = setInterval(() => this.heartbeat(), heartbeatMs);
    this.timer.unref();
  }

  /** Sends one envelope of this peer. */
  send(elem: string, data: JsonValue, requestId?: string): void {
    this.write(
      encodeHydraEnvelope({
        sender: this.sender,
        elem,
        data: data as { [k: string]: JsonValue },
        client_id: this.clientId,
        timestamp: Date.now() / 1000,
        ...(requestId === undefined ? {} : { request_id: requestId }),
      }),
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.socket.close();
  }

  private heartbeat(): void {
    this.send("heartbeat", {});
  }

  private write(bytes: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(bytes);
    if (this.writing) return;
    this.writing = true;
    void this.writeLoop();
  }

  private async writeLoop(): Promise<void> {
    while (!this.closed && this.queue.length > 0) {
      try {
        await this.socket.send(this.queue[0] as Uint8Array);
        this.queue.shift();
      } catch (e) {
        if (this.closed) break;
        if ((e as { code?: string }).code === "EAGAIN") {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        this.queue.shift();
      }
    }
    this.writing = false;
  }

  private async readLoop(): Promise<void> {
    for (;;) {
      let message: Buffer[];
      try {
        message = await this.socket.receive();
      } catch {
        return;
      }
      if (this.closed) return;
      for (const part of message) {
        let m: HydraIncoming;
        try {
          m = parseHydraIncoming(part);
        } catch (e) {
          process.emitWarning(`protoipc hydra: dropped a message: ${(e as Error).message}`);
          continue;
        }
        this.onIncoming(m);
      }
    }
  }
}

/** Hydra MQClient's default client_id: `"<sender>-<random 1000..9999>"`. */
function defaultClientId(sender: HydraSender): string {
  return `${sender}-${1000 + Math.floor(Math.random() * 9000)}`;
}

/** Maps an `error` elem's data to an IpcError. */
function errorFromHydra(data: { readonly [k: string]: JsonValue }): IpcError {
  const type = typeof data.error_type === "string" ? data.error_type : "";
  const message = typeof data.error_message === "string" ? data.error_message : "server error";
  let code = Code.Unknown;
  for (let c = 1; c <= 16; c++) if (codeToString(c as Code) === type) code = c as Code;
  return new IpcError(message, code);
}

/** A pending call of the Hydra client. */
interface HydraPending {
  readonly requestId: string;
  readonly method: AnyMethodDescriptor;
  readonly replyElem: string;
  readonly sink: CallSink;
  acked: boolean;
}

/** The Hydra client transport, with typed broadcasts. */
export interface HydraClientTransport extends ClientTransport {
  /** The `client_id` (and routing id) of this peer. */
  readonly clientId: string;
  /**
   * Receives server messages sent under `schema`'s `wire_name` elem that answer no call of this
   * client (Hydra's broadcasts: status_update, game_state_update, ...), decoded as `schema`.
   * Returns the unsubscribe function.
   */
  subscribe<D extends DescMessage>(
    schema: D,
    listener: (message: MessageShape<D>) => void,
  ): () => void;
}

/**
 * Creates a client transport speaking Hydra's envelope: it registers by heartbeat at once and
 * maps calls of a `BINDING_HYDRA` service onto elems. `close()` fails pending calls with
 * `Code.Unavailable` and closes the socket.
 *
 * Calls fail with `Code.Unavailable` when the router answers "No AI Hydra server connected",
 * with `Code.Unimplemented` for a method without `wire_name`, a response without `wire_name`, or
 * a streaming method.
 */
export function createHydraClientTransport(options: HydraTransportOptions): HydraClientTransport {
  const pending = new Map<string, HydraPending>();
  const listeners = new Set<(elem: string, data: { readonly [k: string]: JsonValue }) => void>();
  let next = 1;
  let closed = false;

  const settle = (p: HydraPending, elem: string, data: { readonly [k: string]: JsonValue }) => {
    pending.delete(p.requestId);
    if (elem === "error") {
      p.sink.onError(errorFromHydra(data));
      return;
    }
    try {
      p.sink.onResult(messageFromHydraJson(p.method.output, data));
    } catch (e) {
      p.sink.onError(IpcError.from(e, Code.Internal));
    }
  };

  const socket = new HydraSocket("HydraClient", options, (m) => {
    if (m.kind === "ok" || m.kind === "error") {
      // The router's answer to our oldest message it has not answered yet.
      const p = [...pending.values()].find((x) => !x.acked);
      if (p === undefined) return;
      p.acked = true;
      if (m.kind === "error") {
        pending.delete(p.requestId);
        p.sink.onError(new IpcError(m.error, Code.Unavailable));
      }
      return;
    }
    if (m.sender !== "HydraServer") return;
    const byId = m.requestId === undefined ? undefined : pending.get(m.requestId);
    if (byId !== undefined) {
      settle(byId, m.elem, m.data);
      return;
    }
    if (m.requestId === undefined) {
      // Hydra's router stripped the id: the oldest call waiting for this elem takes it.
      const p = [...pending.values()].find(
        (x) => x.replyElem === m.elem || (m.elem === "error" && x.acked),
      );
      if (p !== undefined) {
        settle(p, m.elem, m.data);
        return;
      }
    }
    for (const l of listeners) l(m.elem, m.data);
  });

  return {
    clientId: socket.clientId,
    start(call: OutgoingCall, sink: CallSink): CallHandle {
      const method = call.method;
      const noop = { cancel() {} };
      if (closed) {
        sink.onError(new IpcError("transport is closed", Code.Unavailable));
        return noop;
      }
      const elem = method.wireName;
      const replyElem = messageWireName(method.output);
      if (method.kind !== "unary" || elem === undefined || replyElem === undefined) {
        sink.onError(
          new IpcError(
            `${method.path} cannot be called over hydra: it needs to be unary with a wire_name on the method and its response`,
            Code.Unimplemented,
          ),
        );
        return noop;
      }
      const requestId = `${socket.clientId}-${next++}`;
      let data: JsonValue;
      try {
        data = messageToHydraJson(method.input, call.message);
      } catch (e) {
        sink.onError(IpcError.from(e, Code.Internal));
        return noop;
      }
      pending.set(requestId, { requestId, method, replyElem, sink, acked: false });
      socket.send(elem, data, requestId);
      // Hydra has no cancel on the wire: a cancelled call is forgotten here.
      return { cancel: () => void pending.delete(requestId) };
    },
    async close() {
      if (closed) return;
      closed = true;
      const err = new IpcError("transport closed while the call was pending", Code.Unavailable);
      for (const p of [...pending.values()]) p.sink.onError(err);
      pending.clear();
      socket.close();
    },
    subscribe(schema, listener) {
      const elem = messageWireName(schema);
      const l = (e: string, data: { readonly [k: string]: JsonValue }) => {
        if (e !== elem) return;
        let message: MessageShape<typeof schema>;
        try {
          message = messageFromHydraJson(schema, data);
        } catch (err) {
          process.emitWarning(`protoipc hydra: dropped ${e}: ${(err as Error).message}`);
          return;
        }
        listener(message);
      };
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

/** Options of {@link createHydraServerTransport}. */
export interface HydraServerTransportOptions extends HydraTransportOptions {
  /** The services served (their methods' `wire_name`s are the elems answered). */
  readonly services: readonly ServiceDescriptor[];
}

/** The Hydra server transport, with typed broadcasts. */
export interface HydraServerTransport extends ServerTransport {
  /** The `client_id` (and routing id) of this peer. */
  readonly clientId: string;
  /**
   * Sends `message` to every client, under its schema's `wire_name` elem.
   *
   * @throws IpcError Code.FailedPrecondition before `listen` or when the schema has no wire_name
   */
  broadcast<D extends DescMessage>(schema: D, message: MessageInitShape<D>): void;
}

/**
 * Creates a server transport speaking Hydra's envelope: on `listen` it registers by heartbeat
 * and answers each client message whose elem is a method's `wire_name` with the response's elem
 * (and the request's `request_id`), or with an `error` elem (`ErrorOccurred` data) when the
 * handler fails or the elem or data is unknown or invalid.
 */
export function createHydraServerTransport(
  options: HydraServerTransportOptions,
): HydraServerTransport {
  let socket: HydraSocket | undefined;
  const clientId = options.clientId ?? defaultClientId("HydraServer");
  const aborts = new Set<AbortController>();
  const byElem = new Map<string, AnyMethodDescriptor>();
  for (const s of options.services) {
    for (const m of Object.values(s.methods))
      if (m.wireName !== undefined) byElem.set(m.wireName, m);
  }
  const sendError = (s: HydraSocket, err: IpcError, component: string, requestId?: string) => {
    s.send(
      "error",
      {
        error_type: codeToString(err.code),
        error_message: err.rawMessage,
        component,
        recoverable: true,
      },
      requestId,
    );
  };
  return {
    clientId,
    async listen(dispatcher: Dispatcher) {
      if (socket !== undefined) {
        throw new IpcError("hydra server transport is listening already", Code.FailedPrecondition);
      }
      const s = new HydraSocket("HydraServer", { ...options, clientId }, (m) => {
        if (m.kind !== "message" || m.sender !== "HydraClient") return;
        const method = byElem.get(m.elem);
        const requestId = m.requestId;
        if (method === undefined || dispatcher.lookup(method.path) === undefined) {
          sendError(
            s,
            new IpcError(`no method for elem ${m.elem}`, Code.Unimplemented),
            m.elem,
            requestId,
          );
          return;
        }
        const replyElem = messageWireName(method.output) ?? m.elem;
        let input: ReturnType<typeof create>;
        try {
          input = messageFromHydraJson(method.input, m.data);
        } catch (e) {
          sendError(s, IpcError.from(e, Code.InvalidArgument), method.path, requestId);
          return;
        }
        const ac = new AbortController();
        aborts.add(ac);
        const timeoutMs = method.timeoutMs ?? method.service.defaultTimeoutMs;
        const init: IncomingCallInit = {
          get signal() {
            return ac.signal;
          },
          get aborted() {
            return ac.signal.aborted;
          },
          deadline: Date.now() + timeoutMs,
          metadata: {},
          peer: "hydra",
        };
        void dispatcher.invoke(method, input, init, {
          update: () => Promise.resolve(),
          result(out) {
            aborts.delete(ac);
            if (out === undefined) return;
            s.send(replyElem, messageToHydraJson(method.output, out), requestId);
          },
          error(err) {
            aborts.delete(ac);
            sendError(s, err, method.path, requestId);
          },
        });
      });
      socket = s;
    },
    async close() {
      for (const ac of aborts) ac.abort(new IpcError("server closed", Code.Unavailable));
      aborts.clear();
      socket?.close();
    },
    broadcast(schema, message) {
      const elem = messageWireName(schema);
      if (socket === undefined || elem === undefined) {
        throw new IpcError(
          socket === undefined
            ? "broadcast before listen"
            : `${schema.typeName} has no wire_name to broadcast under`,
          Code.FailedPrecondition,
        );
      }
      socket.send(elem, messageToHydraJson(schema, create(schema, message)));
    },
  };
}
