/**
 * Child entry of the Unix-socket servers: `unix.ts <kind> <absolute socket path>`, kind one of
 * `protoipc-native`, `protoipc-jsonrpc2`, `raw`, `vscode-jsonrpc`.
 */
import { runServerChild } from "../server-process.js";
import { serveProtoipcUnixEcho } from "../unix/protoipc-unix.js";
import { serveRawUnixEcho } from "../unix/raw-unix.js";
import { serveVscodeJsonRpcEcho } from "../unix/vscode-jsonrpc.js";

const [kind, path] = process.argv.slice(2);
if (kind === undefined || path === undefined)
  throw new Error("usage: unix.ts <kind> <socket path>");
await runServerChild(() => {
  switch (kind) {
    case "protoipc-native":
      return serveProtoipcUnixEcho(path, "native");
    case "protoipc-jsonrpc2":
      return serveProtoipcUnixEcho(path, "jsonrpc2");
    case "raw":
      return serveRawUnixEcho(path);
    case "vscode-jsonrpc":
      return serveVscodeJsonRpcEcho(path);
    default:
      throw new Error(`unknown server kind ${kind}`);
  }
});
