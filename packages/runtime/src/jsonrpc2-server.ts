import type { JsonValue, Message } from "@bufbuild/protobuf";
import type { Dispatcher, IncomingCallInit, ServerCallSink, ServerTransport } from "./call.js";
import { Deadline, deadlines } from "./deadline-scheduler.js";
import type { AnyMethodDescriptor } from "./descriptor.js";
import { Code, IpcError } from "./error.js";
import type { FramePeer, ServerFrameChannel } from "./frame-channel.js";
import {
  fromPositionalJson,
  fromWireJson,
  isObjectJson,
  type JsonWireOptions,
  jsonValueField,
  toWireJson,
} from "./json-wire.js";
import {
  CANCEL_METHOD,
  DEFAULT_PROGRESS_TOKEN_KEY,
  errorToJsonRpc,
  JsonRpcErrorCode,
  type JsonRpcErrorObject,
  type JsonRpcId,
  jsonRpcMethodName,
  PROGRESS_METHOD,
} from "./jsonrpc2-protocol.js";

/** Options of the jsonrpc2 binding's server side. */
export interface JsonRpcServerOptions extends JsonWireOptions {
  /** Params key of a request's progress token; default `workDoneToken` (LSP). */
  readonly progressTokenKey?: string;
  /** Most calls in flight per connection; default 4096. More are answered `ResourceExhausted`. */
  readonly maxCallsPerPeer?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

interface PeerState {
  readonly peer: FramePeer;
  readonly calls: Map<JsonRpcId, ServerCall>;
}

/**
 * Creates the server side of the jsonrpc2 binding on a frame channel (see
 * `createJsonRpcClientTransport` for the wire). Requests are routed by JSON-RPC method name
 * (`wire_name`, else `pkg.Service/Method`) to the registered methods; params may be named (an
 * object) or positional (an array in field order). Notifications (no `id`) run their handler
 * and get no response. `$/cancelRequest` aborts the handler and answers RequestCancelled
 * (-32800). A progress method's updates go out as `$/progress` notifications for the request's
 * token; without a token they are not sent (the caller did not ask for them). A call's deadline
 * is the method's `timeout_ms`, else the service's default. Bad JSON, bad requests, unknown
 * methods and bad params get their JSON-RPC error and the connection keeps serving.
 *
 * The server that listens on it owns it: `close()` aborts running handlers with
 * `Code.Unavailable` and closes the channel.
 */
export function createJsonRpcServerTransport(
  channel: ServerFrameChannel,
  options: JsonRpcServerOptions = {},
): ServerTransport {
  return new JsonRpcServer(channel, options);
}

/** One incoming call: its deadline entry, its abort signal, and the sink the dispatcher reports to. */
class ServerCall extends Deadline implements IncomingCallInit, ServerCallSink {
  private controller: AbortController | undefined;
  private ended = false;
  readonly metadata: Readonly<Record<string, string>> = {};

  constructor(
    private readonly server: JsonRpcServer,
    private readonly st: PeerState,
    readonly id: JsonRpcId | undefined,
    readonly method: AnyMethodDescriptor,
    readonly token: JsonValue | undefined,
    deadline: number,
  ) {
    super();
    this.deadline = deadline;
  }

  get peer(): string {
    return this.st.peer.key;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.ended;
  }

  onDeadline(): void {
    this.abort(
      new IpcError(
        `deadline exceeded serving ${jsonRpcMethodName(this.method)}`,
        Code.DeadlineExceeded,
      ),
    );
  }

  /** Ends the call with `error` (answered to the client) and aborts the handler. */
  abort(error: IpcError): void {
    if (this.ended) return;
    this.error(error);
    this.controller?.abort(error);
  }

  private end(): boolean {
    if (this.ended) return false;
    this.ended = true;
    deadlines.remove(this);
    if (this.id !== undefined) this.st.calls.delete(this.id);
    return true;
  }

  update(message: Message): Promise<void> {
    if (this.ended) return Promise.reject(new IpcError("call has ended", Code.Canceled));
    if (this.token === undefined) return Promise.resolve();
    const desc = this.method.kind === "progress" ? this.method.progress : this.method.output;
    const value = toWireJson(desc, message, this.server.options);
    return this.server.sendUpdate(this.st.peer, {
      jsonrpc: "2.0",
      method: PROGRESS_METHOD,
      params: { token: this.token, value },
    });
  }

  result(message: Message | undefined): void {
    if (!this.end() || this.id === undefined) return;
    let result: JsonValue = null;
    if (message !== undefined) {
      try {
        result = toWireJson(this.method.output, message, this.server.options);
      } catch (e) {
        this.server.reply(
          this.st.peer,
          this.id,
          undefined,
          errorToJsonRpc(IpcError.from(e, Code.Internal)),
        );
        return;
      }
    }
    this.server.reply(this.st.peer, this.id, result, undefined);
  }

  error(error: IpcError): void {
    if (!this.end() || this.id === undefined) return;
    this.server.reply(this.st.peer, this.id, undefined, errorToJsonRpc(error));
  }
}

class JsonRpcServer implements ServerTransport {
  private readonly peers = new Map<string, PeerState>();
  private readonly routes = new Map<string, AnyMethodDescriptor>();
  private dispatcher: Dispatcher | undefined;
  private closed = false;
  private readonly tokenKey: string;
  private readonly maxCallsPerPeer: number;

  constructor(
    private readonly channel: ServerFrameChannel,
    readonly options: JsonRpcServerOptions,
  ) {
    this.tokenKey = options.progressTokenKey ?? DEFAULT_PROGRESS_TOKEN_KEY;
    this.maxCallsPerPeer = options.maxCallsPerPeer ?? 4096;
  }

  async listen(dispatcher: Dispatcher): Promise<void> {
    if (this.dispatcher !== undefined) throw new Error("server transport is already listening");
    this.dispatcher = dispatcher;
    await this.channel.start({
      onFrame: (peer, frame) => this.onFrame(peer, frame),
      onFrameError: (peer, err) =>
        this.reply(peer, null, undefined, {
          code: JsonRpcErrorCode.ParseError,
          message: err.rawMessage,
        }),
      onPeerClosed: (peer) => this.onPeerClosed(peer),
    });
  }

  /**
   * The registered method for a JSON-RPC method name: a `wire_name`, else `pkg.Service/Method`.
   * The name table is rebuilt when a name is missing and services were registered since.
   */
  private route(name: string): AnyMethodDescriptor | undefined {
    const hit = this.routes.get(name);
    if (hit !== undefined) return hit;
    const d = this.dispatcher;
    const methods = d?.methods?.() ?? [];
    if (methods.length !== this.routedCount) {
      this.routedCount = methods.length;
      this.routes.clear();
      for (const m of methods) this.routes.set(jsonRpcMethodName(m), m);
      const again = this.routes.get(name);
      if (again !== undefined) return again;
    }
    return d?.lookup(name.startsWith("/") ? name : `/${name}`);
  }
  private routedCount = -1;

  private onFrame(peer: FramePeer, frame: Uint8Array): void {
    let msg: unknown;
    try {
      msg = JSON.parse(decoder.decode(frame));
    } catch (e) {
      this.reply(peer, null, undefined, {
        code: JsonRpcErrorCode.ParseError,
        message: `parse error: ${(e as Error).message}`,
      });
      return;
    }
    if (Array.isArray(msg)) {
      // JSON-RPC batches are not used by LSP-style peers (nor by crystalmath): refused.
      this.reply(peer, null, undefined, {
        code: JsonRpcErrorCode.InvalidRequest,
        message: "batch requests are not supported",
      });
      return;
    }
    this.onMessage(peer, msg);
  }

  private peerState(peer: FramePeer): PeerState {
    let st = this.peers.get(peer.key);
    if (st === undefined) {
      st = { peer, calls: new Map() };
      this.peers.set(peer.key, st);
    }
    return st;
  }

  private onMessage(peer: FramePeer, msg: unknown): void {
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
      this.reply(peer, null, undefined, {
        code: JsonRpcErrorCode.InvalidRequest,
        message: "request is not a json object",
      });
      return;
    }
    const m = msg as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: JsonValue };
    const id = m.id;
    const validId = typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
    if (id !== undefined && id !== null && !validId) {
      this.reply(peer, null, undefined, {
        code: JsonRpcErrorCode.InvalidRequest,
        message: "id must be a string or a number",
      });
      return;
    }
    const rid = validId ? (id as JsonRpcId) : undefined;
    if (m.method === undefined && ("result" in m || "error" in m)) return; // a response: we sent no requests
    if (m.jsonrpc !== "2.0" || typeof m.method !== "string") {
      if (rid !== undefined || id === null) {
        this.reply(peer, rid ?? null, undefined, {
          code: JsonRpcErrorCode.InvalidRequest,
          message: m.jsonrpc !== "2.0" ? 'jsonrpc must be "2.0"' : "method must be a string",
        });
      }
      return;
    }
    const st = this.peerState(peer);
    if (m.method === CANCEL_METHOD) {
      const target = (m.params as { id?: unknown } | null | undefined)?.id;
      if (typeof target === "string" || typeof target === "number") {
        st.calls.get(target)?.abort(new IpcError("request cancelled by the client", Code.Canceled));
      }
      return;
    }
    if (m.method.startsWith("$/")) {
      // LSP: notifications and requests starting with `$/` are optional; ignore or refuse.
      if (rid !== undefined) {
        this.reply(peer, rid, undefined, {
          code: JsonRpcErrorCode.MethodNotFound,
          message: `method ${m.method} is not supported`,
        });
      }
      return;
    }
    this.onRequest(st, rid, m.method, m.params);
  }

  private onRequest(
    st: PeerState,
    id: JsonRpcId | undefined,
    name: string,
    params: JsonValue | undefined,
  ): void {
    const peer = st.peer;
    const dispatcher = this.dispatcher;
    const fail = (code: number, message: string) => {
      if (id !== undefined) this.reply(peer, id, undefined, { code, message });
    };
    if (dispatcher === undefined || this.closed) {
      if (id !== undefined)
        this.reply(
          peer,
          id,
          undefined,
          errorToJsonRpc(new IpcError("server is closing", Code.Unavailable)),
        );
      return;
    }
    const method = this.route(name);
    if (method === undefined) {
      fail(JsonRpcErrorCode.MethodNotFound, `method ${name} not found`);
      return;
    }
    if (id !== undefined && st.calls.has(id)) {
      fail(
        JsonRpcErrorCode.InvalidRequest,
        `request id ${JSON.stringify(id)} is already in flight`,
      );
      return;
    }
    if (st.calls.size >= this.maxCallsPerPeer) {
      if (id !== undefined) {
        this.reply(
          peer,
          id,
          undefined,
          errorToJsonRpc(
            new IpcError(
              `${st.calls.size} calls in flight exceed maxCallsPerPeer ${this.maxCallsPerPeer}`,
              Code.ResourceExhausted,
            ),
          ),
        );
      }
      return;
    }
    let message: Message;
    let token: JsonValue | undefined;
    try {
      const objectJson = isObjectJson(method.input);
      if (Array.isArray(params) && (objectJson || jsonValueField(method.input) === undefined)) {
        if (objectJson) {
          message = fromPositionalJson(method.input, params, this.options);
        } else if (params.length === 1) {
          message = fromWireJson(method.input, params[0], this.options);
        } else {
          throw new IpcError(
            `expected 1 positional param for ${method.input.typeName}, got ${params.length}`,
            Code.InvalidArgument,
          );
        }
      } else if (!objectJson && jsonValueField(method.input) !== undefined) {
        // The whole params value is the request's one field.
        message = fromWireJson(method.input, params, this.options);
      } else {
        if (params !== undefined && params !== null && typeof params === "object") {
          const obj = params as { [k: string]: JsonValue };
          token = obj[this.tokenKey];
          if (token !== undefined) {
            const { [this.tokenKey]: _, ...rest } = obj;
            params = rest;
          }
        } else if (params !== undefined && params !== null) {
          throw new IpcError("params must be an object, an array or null", Code.InvalidArgument);
        }
        message = fromWireJson(
          method.input,
          objectJson ? params : (params as { value?: JsonValue } | null | undefined)?.value,
          this.options,
        );
      }
    } catch (e) {
      fail(
        JsonRpcErrorCode.InvalidParams,
        `invalid params for ${name}: ${IpcError.from(e).rawMessage}`,
      );
      return;
    }
    const timeoutMs = method.timeoutMs ?? method.service.defaultTimeoutMs;
    const call = new ServerCall(this, st, id, method, token, Date.now() + timeoutMs);
    if (id !== undefined) st.calls.set(id, call);
    deadlines.add(call);
    void dispatcher.invoke(method, message, call, call);
  }

  private onPeerClosed(peer: FramePeer): void {
    const st = this.peers.get(peer.key);
    if (st === undefined) return;
    this.peers.delete(peer.key);
    for (const call of [...st.calls.values()]) {
      call.abort(new IpcError("client disconnected", Code.Canceled));
    }
  }

  /** Sends a progress notification; resolves when queued (backpressure). */
  sendUpdate(peer: FramePeer, msg: unknown): Promise<void> {
    return this.channel.send(peer, encoder.encode(JSON.stringify(msg)));
  }

  /** Sends a response, best effort. */
  reply(
    peer: FramePeer,
    id: JsonRpcId | null,
    result: JsonValue | undefined,
    error: JsonRpcErrorObject | undefined,
  ): void {
    const msg =
      error === undefined
        ? { jsonrpc: "2.0", id, result: result ?? null }
        : { jsonrpc: "2.0", id, error };
    let frame: Uint8Array;
    try {
      frame = encoder.encode(JSON.stringify(msg));
    } catch {
      return;
    }
    if (frame.byteLength > this.channel.maxFrameBytes && error === undefined && id !== null) {
      this.reply(
        peer,
        id,
        undefined,
        errorToJsonRpc(
          new IpcError(
            `response of ${frame.byteLength} bytes exceeding maxFrameBytes ${this.channel.maxFrameBytes}`,
            Code.ResourceExhausted,
          ),
        ),
      );
      return;
    }
    this.channel.send(peer, frame).catch(() => {
      // The peer is gone or the server closed; nothing else to tell it.
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const st of this.peers.values()) {
      for (const call of [...st.calls.values()]) {
        call.abort(new IpcError("server is closing", Code.Unavailable));
      }
    }
    this.peers.clear();
    await this.channel.close();
  }
}
