import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { type Any, anyIs, anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";

/**
 * Status codes, numbered like gRPC's (google.rpc.Code), so an error means the same thing on every
 * binding and in every language. `0` (OK) is never an error and has no member.
 */
export enum Code {
  /** The call was cancelled, usually by the caller (AbortSignal, task cancellation). */
  Canceled = 1,
  /** An error with no better code, e.g. a handler threw something that is not an IpcError. */
  Unknown = 2,
  /** The request is invalid, whatever the state of the server. */
  InvalidArgument = 3,
  /** The deadline passed before the call completed. */
  DeadlineExceeded = 4,
  /** A requested entity was not found. */
  NotFound = 5,
  /** The entity a client tried to create exists already. */
  AlreadyExists = 6,
  /** The caller may not do this. */
  PermissionDenied = 7,
  /** A limit was hit: frame size, queue length, in-flight calls. */
  ResourceExhausted = 8,
  /** The system is not in a state in which the call can run. */
  FailedPrecondition = 9,
  /** The call was aborted, e.g. by a concurrency conflict. */
  Aborted = 10,
  /** A value is past the valid range. */
  OutOfRange = 11,
  /** The server does not implement the method. */
  Unimplemented = 12,
  /** An invariant of the runtime or the server broke. */
  Internal = 13,
  /** The peer cannot be reached: not running, died, or stopped answering heartbeats. Retry may help. */
  Unavailable = 14,
  /** Data was lost or corrupted: a gap in a progress or stream sequence, a malformed frame. */
  DataLoss = 15,
  /** The caller did not prove who it is. */
  Unauthenticated = 16,
}

/** The lowercase snake_case name of a code, as gRPC prints it: `deadline_exceeded`. */
export function codeToString(code: Code): string {
  const name = Code[code] as string | undefined;
  if (name === undefined) return `code_${code}`;
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** A typed detail to attach to an {@link IpcError}: a message schema and a value of it. */
export interface OutgoingDetail<D extends DescMessage = DescMessage> {
  readonly desc: D;
  readonly value: MessageInitShape<D>;
}

/** Options of the {@link IpcError} constructor. */
export interface IpcErrorOptions {
  /** Typed details; packed as `google.protobuf.Any` on the wire. */
  readonly details?: ReadonlyArray<OutgoingDetail | Any>;
  /** The underlying error, kept for local debugging; never sent. */
  readonly cause?: unknown;
  /** Response metadata the peer sent with the error. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * The one error type every protoipc call rejects with, on every binding: a {@link Code}, a
 * message, and typed details. `message` is `"[code] rawMessage"`; `rawMessage` is what crosses
 * the wire.
 */
export class IpcError extends Error {
  override readonly name = "IpcError";
  /** The status code. */
  readonly code: Code;
  /** The message without the `[code]` prefix; this is what crosses the wire. */
  readonly rawMessage: string;
  /** Typed details, packed as `google.protobuf.Any`. Read them with {@link IpcError.findDetails}. */
  readonly details: Any[];
  /** Response metadata, if the peer sent any. */
  readonly metadata: Readonly<Record<string, string>>;

  /**
   * @param message developer-facing text, lowercase, naming the limit and the value where there is one
   * @param code the status code; {@link Code.Unknown} when omitted
   */
  constructor(message: string, code: Code = Code.Unknown, options: IpcErrorOptions = {}) {
    super(
      `[${codeToString(code)}] ${message}`,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    Object.setPrototypeOf(this, new.target.prototype);
    this.code = code;
    this.rawMessage = message;
    this.metadata = options.metadata ?? {};
    this.details = (options.details ?? []).map((d) =>
      "desc" in d ? anyPack(d.desc, create(d.desc, d.value)) : d,
    );
  }

  /**
   * Normalises anything thrown into an IpcError: an IpcError is returned as is, an AbortError or
   * a `TimeoutError` becomes `Canceled` or `DeadlineExceeded`, anything else `fallbackCode` with the
   * original as `cause`.
   */
  static from(reason: unknown, fallbackCode: Code = Code.Unknown): IpcError {
    if (reason instanceof IpcError) return reason;
    if (reason instanceof Error) {
      if (reason.name === "AbortError")
        return new IpcError("operation was aborted", Code.Canceled, { cause: reason });
      if (reason.name === "TimeoutError") {
        return new IpcError("operation timed out", Code.DeadlineExceeded, { cause: reason });
      }
      return new IpcError(reason.message, fallbackCode, { cause: reason });
    }
    return new IpcError(String(reason), fallbackCode, { cause: reason });
  }

  /** Returns the details of type `desc`, unpacked. */
  findDetails<D extends DescMessage>(desc: D): MessageShape<D>[] {
    const out: MessageShape<D>[] = [];
    for (const any of this.details) {
      if (anyIs(any, desc)) {
        const v = anyUnpack(any, desc);
        if (v !== undefined) out.push(v);
      }
    }
    return out;
  }
}

/** True when `value` is an {@link IpcError}, optionally with the given code. */
export function isIpcError(value: unknown, code?: Code): value is IpcError {
  return value instanceof IpcError && (code === undefined || value.code === code);
}
