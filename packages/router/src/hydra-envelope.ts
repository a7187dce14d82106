/**
 * AI Hydra's router envelope (PROTOCOLS.md §2; ai_hydra @ 6cf4dc5 router_constants.py,
 * validation.py): one UTF-8 JSON object per ZeroMQ message.
 *
 * ```
 * peer -> router:    {sender, elem, data, client_id, timestamp, request_id?}
 * router -> server:  {sender: "HydraClient", elem, data}       (Hydra strips the rest)
 * router -> clients: {sender: "HydraServer", elem, data}
 * router -> sender:  {status: "ok"} | {error: "No AI Hydra server connected"}
 * ```
 *
 * JSON is written the way Python's `json.dumps` writes it by default (`", "` and `": "`
 * separators, non-ASCII escaped as `\uXXXX`, keys in insertion order), so protoipc's bytes equal a
 * Hydra peer's for the same values; numbers are JavaScript's shortest form (`5` where Python writes
 * `5.0` for a float).
 */
import { Code, IpcError } from "@protoipc/runtime";
import type { JsonValue } from "./hydra-json.js";

/** The `sender` of an envelope. */
export type HydraSender = "HydraClient" | "HydraServer" | "HydraRouter";

/** Every elem Hydra's router accepts (router_constants.py), in its order. */
export const HYDRA_ELEMS: readonly string[] = [
  "heartbeat",
  "status",
  "error",
  "ok",
  "start_simulation",
  "stop_simulation",
  "pause_simulation",
  "resume_simulation",
  "reset_simulation",
  "simulation_started",
  "simulation_stopped",
  "simulation_paused",
  "simulation_resumed",
  "simulation_reset",
  "get_status",
  "status_update",
  "game_state_update",
  "performance_update",
  "get_config",
  "set_config",
  "config_update",
];

const ELEMS = new Set(HYDRA_ELEMS);
const SENDERS = new Set<string>(["HydraClient", "HydraServer", "HydraRouter"]);

/** Largest `timestamp` Hydra accepts: 2100-01-01T00:00:00Z, in seconds. */
export const HYDRA_MAX_TIMESTAMP = 4_102_444_800;

/** The message Hydra's router answers a client with when no server is registered. */
export const HYDRA_NO_SERVER = "No AI Hydra server connected";

/** An envelope from a peer to the router. */
export interface HydraEnvelope {
  readonly sender: HydraSender;
  readonly elem: string;
  readonly data: { readonly [k: string]: JsonValue };
  readonly client_id: string;
  /** Seconds since the Unix epoch, in [0, 4102444800]. */
  readonly timestamp: number;
  readonly request_id?: string | null;
}

/** A message a peer receives: a forward (`sender`, `elem`, `data`, maybe `request_id`) or an ack. */
export type HydraIncoming =
  | {
      readonly kind: "message";
      readonly sender: HydraSender;
      readonly elem: string;
      readonly data: { readonly [k: string]: JsonValue };
      readonly requestId: string | undefined;
    }
  | { readonly kind: "ok" }
  | { readonly kind: "error"; readonly error: string };

const decoder = new TextDecoder("utf-8", { fatal: true });

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new IpcError(
      `hydra message of ${bytes.byteLength} bytes is not UTF-8 JSON: ${(e as Error).message}`,
      Code.InvalidArgument,
    );
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates an envelope a peer sent to the router, by Hydra's rules (validation.py):
 * known sender, known elem other than "ok", object data, non-empty client_id, timestamp a number
 * in [0, 4102444800], request_id a string or null when present.
 *
 * @throws IpcError Code.InvalidArgument naming the first rule broken
 */
export function parseHydraEnvelope(bytes: Uint8Array): HydraEnvelope {
  const v = parseJson(bytes);
  if (!isObject(v)) throw bad("is not a JSON object");
  if (typeof v.sender !== "string" || !SENDERS.has(v.sender)) {
    throw bad(`sender ${JSON.stringify(v.sender)} is not HydraClient, HydraServer or HydraRouter`);
  }
  if (typeof v.elem !== "string" || !ELEMS.has(v.elem) || v.elem === "ok") {
    throw bad(`elem ${JSON.stringify(v.elem)} is not a known elem`);
  }
  if (!isObject(v.data)) throw bad("data is not an object");
  if (typeof v.client_id !== "string" || v.client_id === "") {
    throw bad("client_id is not a non-empty string");
  }
  if (
    typeof v.timestamp !== "number" ||
    !(v.timestamp >= 0 && v.timestamp <= HYDRA_MAX_TIMESTAMP)
  ) {
    throw bad(
      `timestamp ${JSON.stringify(v.timestamp)} is not a number in 0..${HYDRA_MAX_TIMESTAMP}`,
    );
  }
  if (v.request_id !== undefined && v.request_id !== null && typeof v.request_id !== "string") {
    throw bad("request_id is not a string or null");
  }
  return v as unknown as HydraEnvelope;
}

function bad(why: string): IpcError {
  return new IpcError(`invalid hydra envelope: ${why}`, Code.InvalidArgument);
}

/**
 * Parses what the router sends a peer: a forward, `{status: "ok"}`, or `{error: "..."}`.
 *
 * @throws IpcError Code.InvalidArgument when it is none of these
 */
export function parseHydraIncoming(bytes: Uint8Array): HydraIncoming {
  const v = parseJson(bytes);
  if (!isObject(v)) throw bad("is not a JSON object");
  if (v.status === "ok" && v.elem === undefined) return { kind: "ok" };
  if (typeof v.error === "string" && v.elem === undefined) return { kind: "error", error: v.error };
  if (typeof v.sender !== "string" || !SENDERS.has(v.sender)) {
    throw bad(`sender ${JSON.stringify(v.sender)} is not HydraClient, HydraServer or HydraRouter`);
  }
  if (typeof v.elem !== "string") throw bad("elem is not a string");
  const data = v.data === undefined || v.data === null ? {} : v.data;
  if (!isObject(data)) throw bad("data is not an object");
  return {
    kind: "message",
    sender: v.sender as HydraSender,
    elem: v.elem,
    data: data as { [k: string]: JsonValue },
    requestId: typeof v.request_id === "string" ? v.request_id : undefined,
  };
}

/** Encodes a peer's envelope; `request_id` is written only when given. */
export function encodeHydraEnvelope(e: HydraEnvelope): Uint8Array {
  const o: { [k: string]: JsonValue } = {
    sender: e.sender,
    elem: e.elem,
    data: e.data as JsonValue,
    client_id: e.client_id,
    timestamp: e.timestamp,
  };
  if (e.request_id !== undefined) o.request_id = e.request_id;
  return encodePythonJson(o);
}

/**
 * Encodes a forward from the router: `{sender, elem, data}`, plus `request_id` when protoipc's
 * router keeps it (Hydra's own router strips it).
 */
export function encodeHydraForward(
  sender: HydraSender,
  elem: string,
  data: JsonValue,
  requestId?: string,
): Uint8Array {
  const o: { [k: string]: JsonValue } = { sender, elem, data };
  if (requestId !== undefined) o.request_id = requestId;
  return encodePythonJson(o);
}

/** `{"status": "ok"}`, the router's answer to a client's message. */
export const HYDRA_OK: Uint8Array = encodePythonJson({ status: "ok" });

/** `{"error": "No AI Hydra server connected"}`. */
export const HYDRA_NO_SERVER_REPLY: Uint8Array = encodePythonJson({ error: HYDRA_NO_SERVER });

/** JSON as Python's `json.dumps(value)` writes it (default separators, `ensure_ascii`). */
export function encodePythonJson(value: JsonValue): Uint8Array {
  return Buffer.from(pythonJson(value), "ascii");
}

function pythonJson(v: JsonValue): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  if (typeof v === "string") return pythonString(v);
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(", ")}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${pythonString(k)}: ${pythonJson(x)}`)
    .join(", ")}}`;
}

function pythonString(s: string): string {
  // JSON.stringify escapes quotes, backslashes and controls as Python does; Python also escapes
  // every non-ASCII code unit as \uXXXX.
  return JSON.stringify(s).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
