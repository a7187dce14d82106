import { randomUUID } from "node:crypto";
import {
  type AnyMethodDescriptor,
  type CallHandle,
  type CallSink,
  type ClientTransport,
  Code,
  IpcError,
  type OutgoingCall,
} from "@protoipc/runtime";
import { type Backoff, type BackoffOptions, createBackoff } from "./backoff.js";
import {
  authProof,
  type CommandFrameAuthMethod,
  constantTimeEqual,
  createAuthNonce,
} from "./command-frame-auth.js";
import { eventFromWire, messageFromWire, messageToWire } from "./command-frame-json.js";
import {
  COMMAND_FRAME_VERSION,
  type CommandFrameMessage,
  decodeCommandFrameMessage,
  encodeCommandFrameMessage,
  errorFromWire,
  isCompatibleVersion,
  POPPO_MAGIC,
} from "./command-frame-protocol.js";
import {
  assertSocketPath,
  connectEndpoint,
  describeEndpoint,
  type StreamEndpoint,
} from "./endpoint.js";
import { FramedConnection } from "./framed-connection.js";
import { DEFAULT_STREAM_MAX_FRAME_BYTES, type Framer } from "./framer.js";
import { createLengthPrefixFramer } from "./length-prefix-framer.js";

/** Options of {@link createCommandFrameTransport}. */
export interface CommandFrameTransportOptions {
  /** Where the server listens: `{ path }` (Unix socket, Windows named pipe) or `{ host, port }`. */
  readonly endpoint: StreamEndpoint;
  /**
   * The shared secret (PoppoBuilder's auth token). Required when the server asks for
   * authentication (`welcome.authRequired`).
   */
  readonly secret?: string | Uint8Array;
  /**
   * How to prove the secret: `"hmac-sha256"` (default, mutual challenge-response, see
   * command-frame-auth.ts) or `"token"` (sends the secret itself, as the existing PoppoBuilder
   * daemon expects).
   */
  readonly authMethod?: CommandFrameAuthMethod;
  /** Bytes every frame starts with; default `POPPO`. */
  readonly magic?: Uint8Array;
  /** Largest frame either way, in bytes; default 16 MiB. */
  readonly maxFrameBytes?: number;
  /** Delays between connection attempts while calls wait (jittered exponential backoff). */
  readonly reconnect?: BackoffOptions;
}

interface PendingCommand {
  readonly id: string;
  readonly method: AnyMethodDescriptor;
  readonly args: unknown;
  readonly sink: CallSink;
}

interface Subscription {
  readonly method: AnyMethodDescriptor;
  readonly sink: CallSink;
  /** Whether a connection was ready while subscribed (so a loss may have dropped events). */
  live: boolean;
}

type Phase = "connecting" | "welcome" | "auth" | "ready";

interface Connection {
  phase: Phase;
  framed: FramedConnection | undefined;
  authId: string;
  challenge: string;
  nonce: string;
  /** Why the connection ends, when this side decided it (bad proof, garbage). */
  failure: IpcError | undefined;
}

/**
 * A client transport speaking the command-frame binding (PoppoBuilder's `POPPO` + u32 length +
 * JSON frames, PROTOCOLS.md §4) over a Unix socket, named pipe or TCP: each unary method is a
 * `command` named by its `wire_name`, its request sent as both `args` and `payload` (the
 * existing daemon reads `payload`, its own client sends `args`); a server-streaming method
 * subscribes to the server's `event` broadcasts.
 *
 * Connecting is lazy: the first call connects, waits for `welcome`, authenticates (see
 * {@link CommandFrameTransportOptions.authMethod}) and then sends every call that waited. A
 * connection that cannot be made or is lost while calls wait is retried with jittered
 * exponential backoff until the calls' deadlines (default 30 s, the daemon client's timeout).
 * Commands sent on a lost connection fail with `Code.Unavailable` (they may have run), except
 * those whose `idempotency_level` is `NO_SIDE_EFFECTS` or `IDEMPOTENT`, which are sent again on
 * the next connection; an event
 * stream that was connected ends with `Code.Unavailable` (events while disconnected cannot be
 * recovered), one still waiting for its first connection waits on.
 * A failed authentication fails the waiting calls with `Code.Unauthenticated` and is not retried
 * until the next call. Cancelling a call (signal, deadline) forgets it: the wire has no cancel
 * message, so the server's handler runs to its end.
 *
 * The transport owns its socket: `close()` fails pending calls with `Code.Unavailable`.
 *
 * @throws IpcError Code.InvalidArgument when an option is out of range or the socket path is
 *   empty or too long (see `assertSocketPath`)
 */
export function createCommandFrameTransport(
  options: CommandFrameTransportOptions,
): ClientTransport {
  return new CommandFrameClient(options);
}

class CommandFrameClient implements ClientTransport {
  private readonly framer: Framer;
  private readonly backoff: Backoff;
  private readonly description: string;
  private conn: Connection | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly waiting = new Map<string, PendingCommand>();
  private readonly sent = new Map<string, PendingCommand>();
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  constructor(private readonly options: CommandFrameTransportOptions) {
    this.framer = createLengthPrefixFramer({
      magic: options.magic ?? POPPO_MAGIC,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_STREAM_MAX_FRAME_BYTES,
    });
    this.backoff = createBackoff(options.reconnect);
    if ("path" in options.endpoint) assertSocketPath(options.endpoint.path);
    this.description = describeEndpoint(options.endpoint);
  }

  start(call: OutgoingCall, sink: CallSink): CallHandle {
    const method = call.method;
    if (this.closed) {
      sink.onError(new IpcError("transport is closed", Code.Unavailable));
      return NOOP_HANDLE;
    }
    if (method.kind === "server_streaming") {
      const sub: Subscription = {
        method,
        sink,
        live: this.conn?.phase === "ready" && isOpen(this.conn),
      };
      this.subscriptions.add(sub);
      this.ensureConnection();
      return { cancel: () => this.subscriptions.delete(sub) };
    }
    if (method.kind !== "unary") {
      sink.onError(
        new IpcError(
          `${method.path} is a ${method.kind} method, which the command-frame binding cannot carry`,
          Code.Unimplemented,
        ),
      );
      return NOOP_HANDLE;
    }
    if (method.wireName === undefined) {
      sink.onError(
        new IpcError(`${method.path} has no wire_name to name its command`, Code.InvalidArgument),
      );
      return NOOP_HANDLE;
    }
    let args: unknown;
    try {
      args = messageToWire(method.input, call.message);
    } catch (e) {
      sink.onError(IpcError.from(e, Code.InvalidArgument));
      return NOOP_HANDLE;
    }
    const p: PendingCommand = { id: randomUUID(), method, args, sink };
    if (this.conn?.phase === "ready" && isOpen(this.conn)) {
      this.send(p);
    } else {
      this.waiting.set(p.id, p);
      this.ensureConnection();
    }
    return {
      cancel: () => {
        this.waiting.delete(p.id);
        this.sent.delete(p.id);
      },
    };
  }

  private ensureConnection(): void {
    if (this.conn !== undefined || this.retryTimer !== undefined || this.closed) return;
    const conn: Connection = {
      phase: "connecting",
      framed: undefined,
      authId: "",
      challenge: "",
      nonce: "",
      failure: undefined,
    };
    this.conn = conn;
    Promise.resolve(this.options.endpoint)
      .then(connectEndpoint)
      .then(
        (socket) => {
          if (this.closed || this.conn !== conn) {
            socket.destroy();
            return;
          }
          conn.phase = "welcome";
          conn.framed = new FramedConnection(
            socket,
            this.framer,
            {
              onFrame: (frame) => this.onFrame(conn, frame),
              onFrameError: (error) => {
                conn.failure ??= new IpcError(
                  `server ${this.description} sent an unreadable frame: ${error.rawMessage}`,
                  Code.DataLoss,
                );
              },
              onClose: (error) => this.onClose(conn, error),
            },
            this.description,
          );
        },
        (e: unknown) => this.onClose(conn, IpcError.from(e, Code.Unavailable)),
      );
  }

  private write(
    conn: Connection,
    message: { type: string; [key: string]: unknown },
  ): Promise<void> {
    const framed = conn.framed;
    if (framed === undefined) {
      return Promise.reject(new IpcError("not connected", Code.Unavailable));
    }
    return framed.send(encodeCommandFrameMessage(message));
  }

  private send(p: PendingCommand): void {
    const conn = this.conn!;
    this.sent.set(p.id, p);
    this.write(conn, {
      type: "command",
      id: p.id,
      command: p.method.wireName,
      args: p.args,
      payload: p.args,
    }).catch((e: unknown) => {
      if (this.sent.delete(p.id)) p.sink.onError(IpcError.from(e, Code.Unavailable));
    });
  }

  private onFrame(conn: Connection, frame: Uint8Array): void {
    if (this.conn !== conn) return;
    let msg: CommandFrameMessage;
    try {
      msg = decodeCommandFrameMessage(frame);
    } catch (e) {
      const err = IpcError.from(e);
      this.fail(
        conn,
        new IpcError(`server ${this.description} sent ${err.rawMessage}`, Code.DataLoss),
      );
      return;
    }
    switch (msg.type) {
      case "welcome":
        this.onWelcome(conn, msg);
        return;
      case "auth-success":
        this.onAuthSuccess(conn, msg);
        return;
      case "response":
        this.onResponse(msg);
        return;
      case "error":
        this.onError(conn, msg);
        return;
      case "event":
        this.onEvent(msg);
        return;
      default:
        return; // a newer server's message type: ignored, as the daemon's client does
    }
  }

  private onWelcome(conn: Connection, msg: CommandFrameMessage): void {
    if (conn.phase !== "welcome") return;
    if (!isCompatibleVersion(msg.version)) {
      this.fail(
        conn,
        new IpcError(
          `server ${this.description} speaks protocol version ${String(msg.version)}; this client speaks ${COMMAND_FRAME_VERSION}`,
          Code.FailedPrecondition,
        ),
      );
      return;
    }
    if (msg.authRequired !== true) {
      this.ready(conn);
      return;
    }
    const secret = this.options.secret;
    if (secret === undefined) {
      this.fail(
        conn,
        new IpcError(
          `server ${this.description} requires authentication and no secret is configured`,
          Code.Unauthenticated,
        ),
      );
      return;
    }
    conn.phase = "auth";
    conn.authId = randomUUID();
    if ((this.options.authMethod ?? "hmac-sha256") === "token") {
      this.write(conn, { type: "auth", id: conn.authId, token: toText(secret) }).catch(() => {});
      return;
    }
    if (typeof msg.challenge !== "string" || msg.challenge === "") {
      this.fail(
        conn,
        new IpcError(
          `server ${this.description} offers no hmac-sha256 challenge; use authMethod "token" for a server that only takes a static token`,
          Code.Unauthenticated,
        ),
      );
      return;
    }
    conn.challenge = msg.challenge;
    conn.nonce = createAuthNonce();
    this.write(conn, {
      type: "auth",
      id: conn.authId,
      method: "hmac-sha256",
      nonce: conn.nonce,
      mac: authProof(secret, "client", conn.challenge, conn.nonce),
    }).catch(() => {});
  }

  private onAuthSuccess(conn: Connection, msg: CommandFrameMessage): void {
    if (conn.phase !== "auth") return;
    if ((this.options.authMethod ?? "hmac-sha256") === "hmac-sha256") {
      const expected = authProof(this.options.secret!, "server", conn.challenge, conn.nonce);
      if (typeof msg.mac !== "string" || !constantTimeEqual(msg.mac, expected)) {
        this.fail(
          conn,
          new IpcError(
            `server ${this.description} did not prove knowledge of the secret`,
            Code.Unauthenticated,
          ),
        );
        return;
      }
    }
    this.ready(conn);
  }

  private ready(conn: Connection): void {
    conn.phase = "ready";
    this.backoff.reset();
    for (const sub of this.subscriptions) sub.live = true;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const p of waiting) this.send(p);
  }

  private onResponse(msg: CommandFrameMessage): void {
    const p = this.sent.get(String(msg.id));
    if (p === undefined) return; // cancelled or timed out: the late answer is dropped
    this.sent.delete(p.id);
    if (msg.success === false) {
      p.sink.onError(errorFromWire(msg));
      return;
    }
    let result: ReturnType<typeof messageFromWire>;
    try {
      result = messageFromWire(p.method.output, msg.result);
    } catch (e) {
      p.sink.onError(
        new IpcError(
          `response to ${p.method.wireName}: ${(e as IpcError).rawMessage}`,
          Code.Internal,
        ),
      );
      return;
    }
    p.sink.onResult(result);
  }

  private onError(conn: Connection, msg: CommandFrameMessage): void {
    const err = errorFromWire(msg);
    if (msg.id !== undefined && msg.id !== null) {
      const p = this.sent.get(String(msg.id));
      if (p !== undefined) {
        this.sent.delete(p.id);
        p.sink.onError(err);
        return;
      }
    }
    if (conn.phase === "auth" || conn.phase === "welcome") {
      this.fail(
        conn,
        new IpcError(
          `authentication with ${this.description} failed: ${err.rawMessage}`,
          Code.Unauthenticated,
          { metadata: err.metadata },
        ),
      );
    }
  }

  private onEvent(msg: CommandFrameMessage): void {
    for (const sub of [...this.subscriptions]) {
      let item: ReturnType<typeof eventFromWire>;
      try {
        item = eventFromWire(sub.method.output, msg);
      } catch (e) {
        this.subscriptions.delete(sub);
        sub.sink.onError(
          new IpcError(`event ${String(msg.event)}: ${(e as IpcError).rawMessage}`, Code.DataLoss),
        );
        continue;
      }
      sub.sink.onUpdate(item);
    }
  }

  /** Ends `conn` because of `error`, which the waiting calls get. */
  private fail(conn: Connection, error: IpcError): void {
    conn.failure ??= error;
    if (conn.framed === undefined) this.onClose(conn, error);
    else void conn.framed.close();
  }

  private onClose(conn: Connection, ioError: IpcError | undefined): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    // A server that hangs up on our `auth` refused it (the daemon may close without a reply).
    const error =
      conn.failure ??
      (conn.phase === "auth"
        ? new IpcError(
            `${this.description} closed the connection during authentication`,
            Code.Unauthenticated,
          )
        : undefined) ??
      ioError ??
      new IpcError(`connection to ${this.description} closed`, Code.Unavailable);
    const fatal =
      error.code === Code.InvalidArgument ||
      error.code === Code.Unauthenticated ||
      error.code === Code.DataLoss ||
      error.code === Code.FailedPrecondition;
    const sent = [...this.sent.values()];
    this.sent.clear();
    for (const p of sent) {
      // A command without side effects (idempotency_level) is safe to send again on the next
      // connection; any other may have run, so its caller decides.
      if (!fatal && p.method.idempotency !== "idempotency_unknown") this.waiting.set(p.id, p);
      else p.sink.onError(error);
    }
    // Subscriptions that saw this connection ready may have missed events: they end. Those
    // still waiting for a first connection wait on, like commands.
    for (const sub of [...this.subscriptions]) {
      if (sub.live || fatal) {
        this.subscriptions.delete(sub);
        sub.sink.onError(error);
      }
    }
    if (fatal) {
      const waiting = [...this.waiting.values()];
      this.waiting.clear();
      for (const p of waiting) p.sink.onError(error);
    }
    if (!this.hasWaiters() || this.closed) return;
    // Calls wait for a connection until their deadlines; retry with backoff meanwhile.
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.hasWaiters()) this.ensureConnection();
    }, this.backoff.next());
  }

  private hasWaiters(): boolean {
    return this.waiting.size > 0 || this.subscriptions.size > 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const err = new IpcError("transport closed", Code.Unavailable);
    const all = [...this.waiting.values(), ...this.sent.values()];
    this.waiting.clear();
    this.sent.clear();
    for (const p of all) p.sink.onError(err);
    for (const sub of this.subscriptions) sub.sink.onError(err);
    this.subscriptions.clear();
    const conn = this.conn;
    this.conn = undefined;
    await conn?.framed?.close();
  }
}

const NOOP_HANDLE: CallHandle = { cancel() {} };

/** Whether frames written to `conn` can still reach the server (it did not hang up yet). */
function isOpen(conn: Connection): boolean {
  const framed = conn.framed;
  return framed !== undefined && !framed.isClosed && !framed.stream.writableEnded;
}

function toText(secret: string | Uint8Array): string {
  return typeof secret === "string" ? secret : new TextDecoder().decode(secret);
}
