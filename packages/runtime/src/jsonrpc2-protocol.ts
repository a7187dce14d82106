/**
 * JSON-RPC 2.0 (https://www.jsonrpc.org/specification) with LSP's additions
 * (https://microsoft.github.io/language-server-protocol/specifications/lsp/3.17/specification/):
 * message shapes, error codes and their mapping to {@link Code}, method names from the schema.
 */
import { create, type JsonValue } from "@bufbuild/protobuf";
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire";
import { type Any, AnySchema } from "@bufbuild/protobuf/wkt";
import type { AnyMethodDescriptor } from "./descriptor.js";
import { Code, codeToString, IpcError } from "./error.js";

/** JSON-RPC 2.0's and LSP's error codes. */
export const JsonRpcErrorCode = {
  /** Invalid JSON was received. */
  ParseError: -32700,
  /** The JSON sent is not a valid request object. */
  InvalidRequest: -32600,
  /** The method does not exist or is not available. */
  MethodNotFound: -32601,
  /** Invalid method parameters. */
  InvalidParams: -32602,
  /** Internal JSON-RPC error. */
  InternalError: -32603,
  /** LSP: the request was cancelled by the client (`$/cancelRequest`). */
  RequestCancelled: -32800,
  /** LSP: the content changed, the result is obsolete. */
  ContentModified: -32801,
  /** LSP: the server cancelled the request. */
  ServerCancelled: -32802,
  /** LSP: the request failed though its parameters were valid. */
  RequestFailed: -32803,
} as const;

/**
 * Start of the implementation-defined server error range (-32000 … -32099). protoipc sends a
 * {@link Code} without a JSON-RPC equivalent as `-32000 - code` (`NotFound` = 5 → -32005), so a
 * protoipc peer reads the same code back.
 */
export const JSONRPC_SERVER_ERROR_BASE = -32000;

/** The LSP notification that cancels a request: `{ id }`. */
export const CANCEL_METHOD = "$/cancelRequest";
/** The LSP notification that carries a progress update: `{ token, value }`. */
export const PROGRESS_METHOD = "$/progress";
/** Default params key of a request's progress token (LSP's `WorkDoneProgressParams`). */
export const DEFAULT_PROGRESS_TOKEN_KEY = "workDoneToken";

/** A JSON-RPC request id. */
export type JsonRpcId = string | number;

/** The `error` member of a JSON-RPC error response. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: JsonValue;
}

/** The JSON-RPC code for an IpcError's code (see {@link JSONRPC_SERVER_ERROR_BASE}). */
export function codeToJsonRpc(code: Code): number {
  switch (code) {
    case Code.Canceled:
      return JsonRpcErrorCode.RequestCancelled;
    case Code.InvalidArgument:
      return JsonRpcErrorCode.InvalidParams;
    case Code.Unimplemented:
      return JsonRpcErrorCode.MethodNotFound;
    case Code.Internal:
      return JsonRpcErrorCode.InternalError;
    default:
      return JSONRPC_SERVER_ERROR_BASE - code;
  }
}

/** The {@link Code} for a JSON-RPC error code; codes with no meaning to protoipc are `Unknown`. */
export function jsonRpcToCode(code: number): Code {
  switch (code) {
    case JsonRpcErrorCode.ParseError:
    case JsonRpcErrorCode.InvalidRequest:
    case JsonRpcErrorCode.InvalidParams:
      return Code.InvalidArgument;
    case JsonRpcErrorCode.MethodNotFound:
      return Code.Unimplemented;
    case JsonRpcErrorCode.InternalError:
      return Code.Internal;
    case JsonRpcErrorCode.RequestCancelled:
    case JsonRpcErrorCode.ServerCancelled:
      return Code.Canceled;
    case JsonRpcErrorCode.ContentModified:
      return Code.Aborted;
  }
  const n = JSONRPC_SERVER_ERROR_BASE - code;
  if (Number.isInteger(n) && n >= 1 && n <= 16) return n as Code;
  return Code.Unknown;
}

/**
 * The error object of a JSON-RPC error response for `error`. `data.code` names the Code; typed
 * details travel as `data.details: [{ type_url, value }]` (`value` base64 of the packed message),
 * which a protoipc peer reads back and other peers may ignore.
 */
export function errorToJsonRpc(error: IpcError): JsonRpcErrorObject {
  const data: { [k: string]: JsonValue } = { code: codeToString(error.code) };
  if (error.details.length > 0) {
    data.details = error.details.map((d) => ({
      type_url: d.typeUrl,
      value: base64Encode(d.value),
    }));
  }
  return { code: codeToJsonRpc(error.code), message: error.rawMessage, data };
}

/** An IpcError for a JSON-RPC error object (anything the peer sent as `error`). */
export function jsonRpcToError(error: unknown): IpcError {
  if (error === null || typeof error !== "object") {
    return new IpcError(`malformed json-rpc error ${JSON.stringify(error)}`, Code.Unknown);
  }
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e.code === "number" ? jsonRpcToCode(e.code) : Code.Unknown;
  const message = typeof e.message === "string" ? e.message : `json-rpc error ${String(e.code)}`;
  const details: Any[] = [];
  const raw = (e as { data?: { details?: unknown } }).data?.details;
  if (Array.isArray(raw)) {
    for (const d of raw as { type_url?: unknown; value?: unknown }[]) {
      if (typeof d?.type_url !== "string" || typeof d.value !== "string") continue;
      try {
        details.push(create(AnySchema, { typeUrl: d.type_url, value: base64Decode(d.value) }));
      } catch {
        // Not base64: a foreign peer's data; leave it out.
      }
    }
  }
  return new IpcError(message, code, { details });
}

/**
 * The JSON-RPC method name of `method`: its `wire_name` option (`system.ping`, `fetch_jobs`),
 * else its protobuf path without the leading slash (`pkg.Service/Method`).
 */
export function jsonRpcMethodName(method: AnyMethodDescriptor): string {
  return method.wireName ?? method.path.slice(1);
}
