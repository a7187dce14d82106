import { create, type Message } from "@bufbuild/protobuf";
import {
  type AnyMethodDescriptor,
  Code,
  type Dispatcher,
  type IncomingCallInit,
  IpcError,
  type ServerCallSink,
  type ServerTransport,
  type ServiceDescriptor,
} from "@protoipc/runtime";
import {
  authProof,
  type CommandFrameAuthMethod,
  constantTimeEqual,
  createAuthNonce,
} from "./command-frame-auth.js";
import { eventToWire, messageFromWire, messageToWire } from "./command-frame-json.js";
import {
  AUTH_REQUIRED_MESSAGE,
  COMMAND_FRAME_VERSION,
  type CommandFrameMessage,
  decodeCommandFrameMessage,
  encodeCommandFrameMessage,
  errorToWire,
  isCompatibleVersion,
  POPPO_MAGIC,
} from "./command-frame-protocol.js";
import { reclaimAndListen } from "./daemon-server.js";
import { isNamedPipePath, type StreamEndpoint } from "./endpoint.js";
import { DEFAULT_STREAM_MAX_FRAME_BYTES } from "./framer.js";
import { createLengthPrefixFramer } from "./length-prefix-framer.js";
import {
  createStreamServerChannel,
  type StreamPeer,
  type StreamServerChannel,
} from "./stream-server-channel.js";

/** How long a refused connection may take to close after the error was written: 1 000 ms. */
const REFUSE_LINGER_MS = 1_000;

/** Options of {@link createCommandFrameServerTransport}. */
export interface CommandFrameServerTransportOptions {
  /** Where to listen: `{ path }` (a Unix socket file made 0600, or a named pipe) or `{ host, port }`. */
  readonly endpoint: StreamEndpoint;
  /** The services served: their unary methods are the commands (by `wire_name`), their server-streaming methods the event sources. */
  readonly services: readonly ServiceDescriptor[];
  /**
   * The shared secret clients must prove. Give either this or `authRequired: false`: a server
   * is never open by accident.
   */
  readonly secret?: string | Uint8Array;
  /**
   * Accepted ways to prove the secret; default `["hmac-sha256"]` (mutual challenge-response).
   * Add `"token"` to accept the existing PoppoBuilder client, which sends the secret itself.
   */
  readonly authMethods?: readonly CommandFrameAuthMethod[];
  /** `false`: every client is authenticated on connect (`welcome.authRequired` false). */
  readonly authRequired?: boolean;
  /** Bytes every frame starts with; default `POPPO`. */
  readonly magic?: Uint8Array;
  /** Largest frame either way, in bytes; default 16 MiB. Checked before allocating. */
  readonly maxFrameBytes?: number;
  /** Mode of the Unix socket file; default 0o600. */
  readonly socketMode?: number;
  /**
   * How long a connection may stay unauthenticated, in milliseconds; default 10 000. Past it the
   * server answers `error` "authentication timed out" and closes the connection.
   */
  readonly authTimeoutMs?: number;
  /**
   * Most commands running at once per connection; default 4 096. A command past it is answered
   * `RESOURCE_EXHAUSTED` without running.
   */
  readonly maxCallsPerConnection?: number;
  /**
   * For a Unix socket path: before listening, make its directory private (0700) and remove a
   * stale socket file nobody answers on, under a lock (`reclaimAndListen`; never a live
   * server's socket, which fails `listen` with `Code.AlreadyExists`). Default true, as the
   * PoppoBuilder daemon unlinks a stale socket at start; false listens as is.
   */
  readonly reclaimStaleSocket?: boolean;
}

/** Default of {@link CommandFrameServerTransportOptions.authTimeoutMs}: 10 s. */
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;

/** Default of {@link CommandFrameServerTransportOptions.maxCallsPerConnection}: 4 096. */
export const DEFAULT_MAX_CALLS_PER_CONNECTION = 4096;

/** A {@link ServerTransport} that can say where it listens. */
export interface CommandFrameServerTransport extends ServerTransport {
  /** The endpoint bound (TCP port 0 resolved), once `listen` resolved. */
  readonly endpoint: StreamEndpoint | undefined;
}

/**
 * A server transport speaking the command-frame binding (PoppoBuilder, PROTOCOLS.md §4) on a
 * Unix socket, named pipe or TCP port.
 *
 * A Unix socket path is prepared like a daemon's (`reclaimStaleSocket`, default on): private
 * directory, stale socket reclaimed under a lock, socket file 0600, removed on close.
 *
 * Each connection gets `welcome` (with a fresh `challenge` for HMAC authentication). Until it
 * authenticates, every other message is answered `error` "Authentication required"
 * (`UNAUTHENTICATED`); a failed `auth` is answered with an error and the connection closed.
 * Once authenticated, `command { id, command, args | payload }` runs the handler of the method
 * whose `wire_name` is `command` (with the server's interceptors), answering `response` or
 * `error { code }` (`codeToWire`); each server-streaming method's handler is started for the
 * connection (with an empty request) and every item it yields is sent as an `event`, so events
 * reach authenticated clients only and a handler can broadcast by yielding from a shared source.
 *
 * A frame that cannot be framed (bad magic, over `maxFrameBytes`, checked before allocating) or
 * is not a JSON object with a `type` is answered with an error and the connection is closed;
 * other connections are not affected. A connection that does not authenticate within
 * `authTimeoutMs` is closed; a connection may run `maxCallsPerConnection` commands at once.
 * Deadlines: each command gets its method's `timeout_ms` or
 * the service's default; past it the handler's signal aborts and the client gets
 * `DEADLINE_EXCEEDED`. A client that disconnects aborts its running handlers.
 *
 * `listen` rejects with `Code.AlreadyExists` when a server answers on the socket path,
 * `Code.PermissionDenied` when its directory is not private, `Code.Unavailable` when it cannot
 * bind.
 *
 * @throws IpcError Code.InvalidArgument when neither `secret` nor `authRequired: false` is
 *   given, or two methods share a `wire_name`
 */
export function createCommandFrameServerTransport(
  options: CommandFrameServerTransportOptions,
): CommandFrameServerTransport {
  return new CommandFrameServer(options);
}

class CommandFrameServer implements CommandFrameServerTransport {
  private readonly commands = new Map<string, AnyMethodDescriptor>();
  private readonly eventMethods: AnyMethodDescriptor[] = [];
  private readonly authMethods: ReadonlySet<CommandFrameAuthMethod>;
  private readonly channel: StreamServerChannel;
  private readonly peers = new Map<string, PeerState>();
  private dispatcher: Dispatcher | undefined;
  private closed = false;

  constructor(private readonly options: CommandFrameServerTransportOptions) {
    if (options.secret === undefined && options.authRequired !== false) {
      throw new IpcError(
        "give a secret, or authRequired: false for a server without authentication",
        Code.InvalidArgument,
      );
    }
    this.authMethods = new Set(options.authMethods ?? ["hmac-sha256"]);
    for (const service of options.services) {
      for (const m of Object.values(service.methods)) {
        if (m.kind === "server_streaming") {
          this.eventMethods.push(m);
        } else if (m.kind === "unary" && m.wireName !== undefined) {
          if (this.commands.has(m.wireName)) {
            throw new IpcError(
              `two methods have the wire_name ${m.wireName}`,
              Code.InvalidArgument,
            );
          }
          this.commands.set(m.wireName, m);
        }
      }
    }
    this.channel = createStreamServerChannel({
      endpoint: options.endpoint,
      framer: createLengthPrefixFramer({
        magic: options.magic ?? POPPO_MAGIC,
        maxFrameBytes: options.maxFrameBytes ?? DEFAULT_STREAM_MAX_FRAME_BYTES,
      }),
      ...(options.socketMode === undefined ? {} : { socketMode: options.socketMode }),
      onConnection: (peer) => this.onConnection(peer),
    });
  }

  get endpoint(): StreamEndpoint | undefined {
    return this.channel.endpoint;
  }

  async listen(dispatcher: Dispatcher): Promise<void> {
    this.dispatcher = dispatcher;
    const ep = this.options.endpoint;
    if ("path" in ep && !isNamedPipePath(ep.path) && this.options.reclaimStaleSocket !== false) {
      await reclaimAndListen(ep.path, () => this.start());
    } else {
      await this.start();
    }
  }

  private start(): Promise<void> {
    return this.channel.start({
      onFrame: (peer, frame) => this.onFrame(this.peers.get(peer.key), frame),
      onFrameError: (peer, error) => {
        // The channel stops reading and closes the connection after this last answer.
        const st = this.peers.get(peer.key);
        if (st === undefined) return;
        st.closing = true;
        this.write(st, errorToWire(undefined, error)).catch(() => {});
      },
      onPeerClosed: (peer) => {
        const st = this.peers.get(peer.key);
        this.peers.delete(peer.key);
        st?.abortAll(new IpcError("client disconnected", Code.Canceled));
      },
    });
  }

  private onConnection(peer: StreamPeer): void {
    const st = new PeerState(peer, createAuthNonce());
    this.peers.set(peer.key, st);
    const authRequired = this.options.authRequired !== false;
    if (authRequired) {
      const ms = this.options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
      st.authTimer = setTimeout(() => {
        if (!st.authenticated && !st.closing) {
          this.refuse(
            st,
            undefined,
            new IpcError(`authentication timed out after ${ms} ms`, Code.Unauthenticated),
          );
        }
      }, ms);
      st.authTimer.unref();
    }
    this.write(st, {
      type: "welcome",
      version: COMMAND_FRAME_VERSION,
      authRequired,
      ...(authRequired ? { authMethods: [...this.authMethods], challenge: st.challenge } : {}),
    }).catch(() => {}); // a client gone at once: its close ends the peer
    if (!authRequired) this.authenticated(st);
  }

  private write(st: PeerState, message: { type: string; [key: string]: unknown }): Promise<void> {
    return this.channel.send(st.peer, encodeCommandFrameMessage(message));
  }

  /**
   * Answers a broken peer with `error` and closes its connection once the answer is written
   * (half-close; destroyed after {@link REFUSE_LINGER_MS} if the peer does not close); other
   * connections go on.
   */
  private refuse(st: PeerState, id: unknown, error: IpcError): void {
    st.closing = true;
    const connection = st.peer.connection;
    this.write(st, errorToWire(id, error)).then(
      () => {
        connection.stream.end();
        setTimeout(() => void connection.close(), REFUSE_LINGER_MS).unref();
      },
      () => void connection.close(),
    );
  }

  private onFrame(st: PeerState | undefined, frame: Uint8Array): void {
    if (st === undefined || st.closing) return;
    let msg: CommandFrameMessage;
    try {
      msg = decodeCommandFrameMessage(frame);
    } catch (e) {
      st.closing = true;
      this.refuse(st, undefined, IpcError.from(e, Code.InvalidArgument));
      return;
    }
    if (!isCompatibleVersion(msg.version)) {
      this.write(
        st,
        errorToWire(
          msg.id,
          new IpcError(
            `protocol version ${String(msg.version)} is not supported; this server speaks ${COMMAND_FRAME_VERSION}`,
            Code.FailedPrecondition,
          ),
        ),
      ).catch(() => {});
      return;
    }
    if (msg.type === "auth") {
      this.onAuth(st, msg);
      return;
    }
    if (!st.authenticated) {
      this.write(
        st,
        errorToWire(msg.id, new IpcError(AUTH_REQUIRED_MESSAGE, Code.Unauthenticated)),
      ).catch(() => {});
      return;
    }
    if (msg.type === "command") {
      this.onCommand(st, msg);
      return;
    }
    this.write(
      st,
      errorToWire(
        msg.id,
        new IpcError(`unknown message type ${JSON.stringify(msg.type)}`, Code.InvalidArgument),
      ),
    ).catch(() => {});
  }

  private onAuth(st: PeerState, msg: CommandFrameMessage): void {
    if (st.authenticated) {
      this.write(st, { type: "auth-success", id: msg.id }).catch(() => {});
      return;
    }
    const secret = this.options.secret!;
    const method = msg.method === undefined ? "token" : msg.method;
    let ok = false;
    let proof: string | undefined;
    if (method === "token" && this.authMethods.has("token") && typeof msg.token === "string") {
      ok = constantTimeEqual(msg.token, secret);
    } else if (
      method === "hmac-sha256" &&
      this.authMethods.has("hmac-sha256") &&
      typeof msg.nonce === "string" &&
      msg.nonce.length >= 16 &&
      typeof msg.mac === "string"
    ) {
      ok = constantTimeEqual(msg.mac, authProof(secret, "client", st.challenge, msg.nonce));
      proof = authProof(secret, "server", st.challenge, msg.nonce);
    }
    if (!ok) {
      st.closing = true;
      this.refuse(
        st,
        msg.id,
        new IpcError(
          this.authMethods.has(method as CommandFrameAuthMethod)
            ? "authentication failed"
            : `authentication method ${JSON.stringify(method)} is not accepted; use one of ${[...this.authMethods].join(", ")}`,
          Code.Unauthenticated,
        ),
      );
      return;
    }
    this.write(st, {
      type: "auth-success",
      id: msg.id,
      ...(proof === undefined ? {} : { mac: proof }),
    }).catch(() => {});
    this.authenticated(st);
  }

  private authenticated(st: PeerState): void {
    st.authenticated = true;
    if (st.authTimer !== undefined) clearTimeout(st.authTimer);
    const dispatcher = this.dispatcher!;
    for (const method of this.eventMethods) {
      if (dispatcher.lookup(method.path) === undefined) continue;
      const call = new ServerCall(this, st, undefined, method, Number.MAX_SAFE_INTEGER);
      st.calls.add(call);
      void dispatcher.invoke(method, create(method.input), call, call);
    }
  }

  private onCommand(st: PeerState, msg: CommandFrameMessage): void {
    const id = msg.id;
    if (typeof id !== "string" && typeof id !== "number") {
      this.write(
        st,
        errorToWire(undefined, new IpcError("command without an id", Code.InvalidArgument)),
      ).catch(() => {});
      return;
    }
    const name = String(msg.command);
    const method = this.commands.get(name);
    if (method === undefined || this.dispatcher!.lookup(method.path) === undefined) {
      this.write(
        st,
        errorToWire(
          id,
          new IpcError(`unknown command ${JSON.stringify(name)}`, Code.Unimplemented),
        ),
      ).catch(() => {});
      return;
    }
    const limit = this.options.maxCallsPerConnection ?? DEFAULT_MAX_CALLS_PER_CONNECTION;
    if (st.commands >= limit) {
      this.write(
        st,
        errorToWire(
          id,
          new IpcError(
            `${st.commands} commands in flight reach maxCallsPerConnection ${limit}`,
            Code.ResourceExhausted,
          ),
        ),
      ).catch(() => {});
      return;
    }
    let request: Message;
    try {
      // The daemon's own client sends `args`, the daemon reads `payload`: accept either.
      request = messageFromWire(method.input, msg.args ?? msg.payload);
    } catch (e) {
      this.write(st, errorToWire(id, IpcError.from(e, Code.InvalidArgument))).catch(() => {});
      return;
    }
    const timeoutMs = method.timeoutMs ?? method.service.defaultTimeoutMs;
    const call = new ServerCall(this, st, id, method, Date.now() + timeoutMs);
    st.calls.add(call);
    call.arm(timeoutMs);
    void this.dispatcher!.invoke(method, request, call, call);
  }

  /** Sends a call's answer; an answer over the frame limit becomes a RESOURCE_EXHAUSTED error. */
  answer(st: PeerState, message: { type: string; [key: string]: unknown }, id: unknown): void {
    this.write(st, message).catch((e: unknown) => {
      const err = IpcError.from(e);
      if (err.code === Code.ResourceExhausted) {
        this.write(st, errorToWire(id, err)).catch(() => {});
      }
    });
    // A client that sends commands but does not read the answers stops being read until its
    // answers drain, so its buffered answers stay bounded by the socket's high-water mark.
    const stream = st.peer.connection.stream;
    if (stream.writableNeedDrain && !st.readPaused) {
      st.readPaused = true;
      stream.pause();
      stream.once("drain", () => {
        st.readPaused = false;
        stream.resume();
      });
    }
  }

  sendEvent(st: PeerState, message: Record<string, unknown>): Promise<void> {
    return this.write(st, { type: "event", ...message });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new IpcError("server closed", Code.Unavailable);
    for (const st of this.peers.values()) st.abortAll(err);
    this.peers.clear();
    await this.channel.close();
  }
}

class PeerState {
  authenticated = false;
  closing = false;
  /** Reading is paused until the answers written drain. */
  readPaused = false;
  authTimer: ReturnType<typeof setTimeout> | undefined;
  /** Commands running (event sources not counted). */
  commands = 0;
  readonly calls = new Set<ServerCall>();

  constructor(
    readonly peer: StreamPeer,
    readonly challenge: string,
  ) {}

  abortAll(reason: IpcError): void {
    if (this.authTimer !== undefined) clearTimeout(this.authTimer);
    for (const c of [...this.calls]) c.abort(reason);
    this.calls.clear();
  }
}

/** One running handler: a command (answered once) or an event source (items become events). */
class ServerCall implements IncomingCallInit, ServerCallSink {
  private controller: AbortController | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private done = false;
  readonly metadata: Readonly<Record<string, string>> = {};

  constructor(
    private readonly server: CommandFrameServer,
    private readonly st: PeerState,
    /** The command's id; `undefined` for an event source. */
    private readonly id: string | number | undefined,
    private readonly method: AnyMethodDescriptor,
    readonly deadline: number,
  ) {
    if (id !== undefined) st.commands++;
  }

  get peer(): string {
    return this.st.peer.key;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller?.signal.aborted ?? this.done;
  }

  arm(timeoutMs: number): void {
    this.timer = setTimeout(() => {
      const err = new IpcError(
        `deadline of ${timeoutMs} ms exceeded while ${this.method.wireName} ran`,
        Code.DeadlineExceeded,
      );
      if (this.end()) this.server.answer(this.st, errorToWire(this.id, err), this.id);
      this.controller ??= new AbortController();
      this.controller.abort(err);
    }, timeoutMs);
  }

  private end(): boolean {
    if (this.done) return false;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.st.calls.delete(this);
    if (this.id !== undefined) this.st.commands--;
    return true;
  }

  abort(reason: IpcError): void {
    this.end();
    this.controller ??= new AbortController();
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  update(message: Message): Promise<void> {
    if (this.done) return Promise.reject(new IpcError("call has ended", Code.Canceled));
    return this.server.sendEvent(this.st, eventToWire(this.method.output, message));
  }

  result(message: Message | undefined): void {
    if (!this.end() || this.id === undefined) return;
    let result: unknown;
    try {
      result = message === undefined ? {} : messageToWire(this.method.output, message);
    } catch (e) {
      this.server.answer(this.st, errorToWire(this.id, IpcError.from(e, Code.Internal)), this.id);
      return;
    }
    this.server.answer(this.st, { type: "response", id: this.id, success: true, result }, this.id);
  }

  error(error: IpcError): void {
    if (!this.end() || this.id === undefined) return;
    this.server.answer(this.st, errorToWire(this.id, error), this.id);
  }
}
