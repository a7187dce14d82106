/**
 * The messages of the command-frame binding (PoppoBuilder, PROTOCOLS.md §4): one UTF-8 JSON
 * object per frame, tagged by `type`, each carrying `version` and `timestamp`.
 */
import { Code, IpcError } from "@protoipc/runtime";

/** The 5 ASCII bytes `POPPO` every PoppoBuilder frame starts with. */
export const POPPO_MAGIC: Uint8Array = new TextEncoder().encode("POPPO");

/** The protocol version every message carries (`version: "1.0.0"`). */
export const COMMAND_FRAME_VERSION = "1.0.0";

/**
 * Whether a message's `version` is one this implementation speaks: absent (lenient with peers
 * that omit it) or a version with major 1.
 */
export function isCompatibleVersion(version: unknown): boolean {
  return version === undefined || (typeof version === "string" && version.split(".")[0] === "1");
}

/** The text of the `error` the server answers every message with until `auth` succeeds. */
export const AUTH_REQUIRED_MESSAGE = "Authentication required";

/** The `code` of an error reply that carries none (the daemon's default). */
export const UNKNOWN_ERROR_CODE = "UNKNOWN_ERROR";

/** One decoded message: a JSON object with a string `type`. */
export interface CommandFrameMessage {
  readonly type: string;
  readonly [key: string]: unknown;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The frame payload of `message`: UTF-8 JSON with `version` and `timestamp` (milliseconds since
 * the Unix epoch) added.
 */
export function encodeCommandFrameMessage(
  message: { readonly type: string; readonly [key: string]: unknown },
  nowMs: number = Date.now(),
): Uint8Array {
  return utf8.encode(
    JSON.stringify({ ...message, version: COMMAND_FRAME_VERSION, timestamp: nowMs }),
  );
}

/**
 * Decodes one frame payload.
 *
 * @throws IpcError Code.InvalidArgument when the payload is not UTF-8, not JSON, not an object,
 *   or has no string `type`
 */
export function decodeCommandFrameMessage(payload: Uint8Array): CommandFrameMessage {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(payload));
  } catch (e) {
    throw new IpcError(
      `malformed command frame of ${payload.byteLength} bytes: ${(e as Error).message}`,
      Code.InvalidArgument,
      { cause: e },
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new IpcError("malformed command frame: not a JSON object", Code.InvalidArgument);
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string") {
    throw new IpcError("malformed command frame: no string `type`", Code.InvalidArgument);
  }
  return value as CommandFrameMessage;
}

/** The wire spelling of a code in an `error` reply: `Code.NotFound` → `"NOT_FOUND"`. */
export function codeToWire(code: Code): string {
  const name = Code[code] as string | undefined;
  if (name === undefined) return UNKNOWN_ERROR_CODE;
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * The {@link Code} of an `error` reply's `code`: protoipc's own spellings (`"NOT_FOUND"`) map
 * back; `"UNKNOWN_ERROR"` and every other string are `Code.Unknown`, except that an
 * "Authentication required" reply is `Code.Unauthenticated` whatever its code.
 */
export function codeFromWire(code: unknown, message: unknown): Code {
  if (message === AUTH_REQUIRED_MESSAGE) return Code.Unauthenticated;
  if (typeof code !== "string") return Code.Unknown;
  const camel = code.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
  const value = (Code as unknown as Record<string, unknown>)[camel];
  return typeof value === "number" ? (value as Code) : Code.Unknown;
}

/**
 * The {@link IpcError} an `error` message stands for. The reply may lack `message` (PROTOCOLS.md
 * §4): the error then names the code. The wire code is kept as metadata `error-code`.
 */
export function errorFromWire(message: CommandFrameMessage): IpcError {
  const body = (message as { error?: unknown }).error;
  const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const wireCode = typeof fields.code === "string" ? fields.code : UNKNOWN_ERROR_CODE;
  const text =
    typeof fields.message === "string" && fields.message !== ""
      ? fields.message
      : `error ${wireCode} without a message`;
  return new IpcError(text, codeFromWire(fields.code, fields.message), {
    metadata: { "error-code": wireCode },
  });
}

/** The `error` message answering request `id` (absent when the error answers no request). */
export function errorToWire(
  id: unknown,
  error: IpcError,
): { type: "error"; id?: unknown; error: { message: string; code: string } } {
  const body = { message: error.rawMessage, code: codeToWire(error.code) };
  return id === undefined ? { type: "error", error: body } : { type: "error", id, error: body };
}
