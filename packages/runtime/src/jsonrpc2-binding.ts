/**
 * The jsonrpc2 binding: JSON-RPC 2.0 with LSP's `$/cancelRequest` and `$/progress`, one JSON
 * message per frame, over any frame channel (over a stream socket: Content-Length framing,
 * `@protoipc/unix`). Services choose it with `option (protoipc.v1.service) = { binding:
 * BINDING_JSONRPC2 }`.
 */

export {
  fromPositionalJson,
  fromWireJson,
  isObjectJson,
  type JsonWireOptions,
  jsonValueField,
  toPositionalJson,
  toWireJson,
} from "./json-wire.js";
export { createJsonRpcClientTransport, type JsonRpcClientOptions } from "./jsonrpc2-client.js";
export {
  CANCEL_METHOD,
  codeToJsonRpc,
  DEFAULT_PROGRESS_TOKEN_KEY,
  errorToJsonRpc,
  JSONRPC_SERVER_ERROR_BASE,
  JsonRpcErrorCode,
  type JsonRpcErrorObject,
  type JsonRpcId,
  jsonRpcMethodName,
  jsonRpcToCode,
  jsonRpcToError,
  PROGRESS_METHOD,
} from "./jsonrpc2-protocol.js";
export { createJsonRpcServerTransport, type JsonRpcServerOptions } from "./jsonrpc2-server.js";
