import { create, type JsonValue, type Message } from "@bufbuild/protobuf";
import type { CallHandle, CallSink, ClientTransport, OutgoingCall } from "./call.js";
import type { AnyMethodDescriptor } from "./descriptor.js";
import { Code, IpcError } from "./error.js";
import type { ClientFrameChannel } from "./frame-channel.js";
import {
  fromWireJson,
  isObjectJson,
  type JsonWireOptions,
  toPositionalJson,
  toWireJson,
} from "./json-wire.js";
import {
  CANCEL_METHOD,
  DEFAULT_PROGRESS_TOKEN_KEY,
  JsonRpcErrorCode,
  type JsonRpcId,
  jsonRpcMethodName,
  jsonRpcToError,
  PROGRESS_METHOD,
} from "./jsonrpc2-protocol.js";

/** Options of the jsonrpc2 binding's client side. */
export interface JsonRpcClientOptions extends JsonWireOptions {
  /**
   * How a request's params are sent: `"named"` (an object, the default) or `"positional"` (an
   * array of the request's fields in declaration order), or a function choosing per method.
   * Progress and server-streaming methods always send named params (they carry a token).
   */
  readonly params?:
    | "named"
    | "positional"
    | ((method: AnyMethodDescriptor) => "named" | "positional");
  /** Params key of the progress token of progress and server-streaming calls; default `workDoneToken`. */
  readonly progressTokenKey?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A call in flight; also its handle for the client core. */
class PendingCall implements CallHandle {
  constructor(
    private readonly client: JsonRpcClient,
    readonly id: number,
    readonly method: AnyMethodDescriptor,
    readonly sink: CallSink,
    readonly token: string | undefined,
  ) {}

  cancel(_reason: IpcError): void {
    this.client.cancelCall(this);
  }
}

const NOOP_HANDLE: CallHandle = { cancel() {} };

/**
 * Creates the client side of the jsonrpc2 binding on a frame channel (one UTF-8 JSON message per
 * frame; over a stream, frame with `createContentLengthFramer`). Each call is a JSON-RPC request
 * with a numeric id unique on the channel, named by the method's `wire_name` (see
 * `jsonRpcMethodName`), params in proto3 JSON with the schema's field names. Cancellation and
 * deadlines send LSP's `$/cancelRequest`; progress and server-streaming calls put a token under
 * `progressTokenKey` in the params and receive `$/progress` notifications `{ token, value }`
 * (a server stream ends with the response, whose result is ignored). Error responses become
 * IpcErrors (`jsonRpcToCode`). JSON-RPC has no metadata: request metadata stays local (for
 * interceptors). Requests from the server are answered with MethodNotFound.
 *
 * The transport owns `channel` and closes it in `close()`; when the channel reports its
 * connection closed, pending calls fail with `Code.Unavailable`.
 */
export function createJsonRpcClientTransport(
  channel: ClientFrameChannel,
  options: JsonRpcClientOptions = {},
): ClientTransport {
  return new JsonRpcClient(channel, options);
}

class JsonRpcClient implements ClientTransport {
  private readonly calls = new Map<number, PendingCall>();
  private readonly byToken = new Map<string, PendingCall>();
  private nextId = 1;
  private started = false;
  private closed = false;
  private readonly tokenKey: string;

  constructor(
    private readonly channel: ClientFrameChannel,
    private readonly options: JsonRpcClientOptions,
  ) {
    this.tokenKey = options.progressTokenKey ?? DEFAULT_PROGRESS_TOKEN_KEY;
  }

  private paramsStyle(method: AnyMethodDescriptor): "named" | "positional" {
    const p = this.options.params;
    if (method.kind !== "unary") return "named";
    if (typeof p === "function") return p(method);
    return p ?? "named";
  }

  start(call: OutgoingCall, sink: CallSink): CallHandle {
    if (this.closed) {
      sink.onError(new IpcError("transport is closed", Code.Unavailable));
      return NOOP_HANDLE;
    }
    if (!this.started) {
      this.started = true;
      this.channel.start({
        onFrame: (frame) => this.onFrame(frame),
        onClosed: () =>
          this.failAll(new IpcError("connection to the server closed", Code.Unavailable)),
      });
    }
    const method = call.method;
    const id = this.nextId++;
    const token = method.kind === "unary" ? undefined : `protoipc-${id}`;
    let frame: Uint8Array;
    try {
      let params: JsonValue;
      if (this.paramsStyle(method) === "positional") {
        params = isObjectJson(method.input)
          ? toPositionalJson(method.input, call.message, this.options)
          : [toWireJson(method.input, call.message, this.options)];
      } else {
        const json = toWireJson(method.input, call.message, this.options);
        const named: { [k: string]: JsonValue } = isObjectJson(method.input)
          ? (json as { [k: string]: JsonValue })
          : { value: json };
        if (token !== undefined) named[this.tokenKey] = token;
        params = named;
      }
      frame = encoder.encode(
        JSON.stringify(
          method.notification === true
            ? { jsonrpc: "2.0", method: jsonRpcMethodName(method), params }
            : { jsonrpc: "2.0", id, method: jsonRpcMethodName(method), params },
        ),
      );
    } catch (e) {
      sink.onError(IpcError.from(e, Code.Internal));
      return NOOP_HANDLE;
    }
    if (method.notification === true) {
      // No response will come: the call is done once the frame is written.
      this.channel.send(frame).then(
        () => sink.onResult(create(method.output)),
        (e: unknown) => sink.onError(IpcError.from(e, Code.Unavailable)),
      );
      return NOOP_HANDLE;
    }
    const pending = new PendingCall(this, id, method, sink, token);
    this.calls.set(id, pending);
    if (token !== undefined) this.byToken.set(token, pending);
    this.channel.send(frame).then(undefined, (e: unknown) => {
      if (this.take(pending)) sink.onError(IpcError.from(e, Code.Unavailable));
    });
    return pending;
  }

  private take(p: PendingCall): boolean {
    if (this.calls.get(p.id) !== p) return false;
    this.calls.delete(p.id);
    if (p.token !== undefined) this.byToken.delete(p.token);
    return true;
  }

  /** The caller gave up: forget the call and tell the server (`$/cancelRequest`). */
  cancelCall(p: PendingCall): void {
    if (!this.take(p) || this.closed) return;
    const frame = encoder.encode(
      JSON.stringify({ jsonrpc: "2.0", method: CANCEL_METHOD, params: { id: p.id } }),
    );
    this.channel.send(frame).catch(() => {
      // Best effort: the connection is gone, so is the call.
    });
  }

  private onFrame(frame: Uint8Array): void {
    let msg: unknown;
    try {
      msg = JSON.parse(decoder.decode(frame));
    } catch {
      return; // Nothing to answer: a response without a parsable id matches no call.
    }
    if (Array.isArray(msg)) {
      for (const m of msg) this.onMessage(m);
      return;
    }
    this.onMessage(msg);
  }

  private onMessage(msg: unknown): void {
    if (msg === null || typeof msg !== "object") return;
    const m = msg as {
      id?: JsonRpcId | null;
      method?: unknown;
      params?: JsonValue;
      result?: JsonValue;
      error?: unknown;
    };
    if (typeof m.method === "string") {
      if (m.method === PROGRESS_METHOD) this.onProgress(m.params);
      else if (m.id !== undefined && m.id !== null) {
        // A request from the server: this client serves nothing.
        this.sendBestEffort({
          jsonrpc: "2.0",
          id: m.id,
          error: {
            code: JsonRpcErrorCode.MethodNotFound,
            message: `method ${m.method} is not served by this client`,
          },
        });
      }
      return;
    }
    if (typeof m.id !== "number") return;
    const p = this.calls.get(m.id);
    if (p === undefined || !this.take(p)) return;
    if (m.error !== undefined) {
      p.sink.onError(jsonRpcToError(m.error));
      return;
    }
    if (p.method.kind === "server_streaming") {
      p.sink.onResult(undefined);
      return;
    }
    let out: Message;
    try {
      out = fromWireJson(p.method.output, m.result, this.options);
    } catch (e) {
      p.sink.onError(
        new IpcError(
          `response of ${jsonRpcMethodName(p.method)} does not fit ${p.method.output.typeName}: ${(e as IpcError).rawMessage}`,
          Code.Internal,
        ),
      );
      return;
    }
    p.sink.onResult(out);
  }

  private onProgress(params: JsonValue | undefined): void {
    if (params === null || typeof params !== "object" || Array.isArray(params)) return;
    const token = params.token;
    if (typeof token !== "string" && typeof token !== "number") return;
    const p = this.byToken.get(String(token));
    if (p === undefined) return;
    const desc = p.method.kind === "progress" ? p.method.progress : p.method.output;
    let update: Message;
    try {
      update = fromWireJson(desc, params.value, this.options);
    } catch (e) {
      if (this.take(p)) {
        this.cancelCall(p);
        p.sink.onError(
          new IpcError(
            `progress of ${jsonRpcMethodName(p.method)} does not fit ${desc.typeName}: ${(e as IpcError).rawMessage}`,
            Code.Internal,
          ),
        );
      }
      return;
    }
    p.sink.onUpdate(update);
  }

  private sendBestEffort(msg: unknown): void {
    this.channel.send(encoder.encode(JSON.stringify(msg))).catch(() => {});
  }

  private failAll(error: IpcError): void {
    for (const p of [...this.calls.values()]) {
      if (this.take(p)) p.sink.onError(error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new IpcError("transport is closed", Code.Unavailable));
    await this.channel.close();
  }
}
