/**
 * Child entry of the protoipc echo server (native binding over ZeroMQ).
 * Usage: `protoipc.ts <endpoint to bind>`, e.g. `ipc:///tmp/protoipc-bench-x/protoipc.sock`.
 */
import { serveProtoipcEcho } from "../protoipc-echo.js";
import { runServerChild } from "../server-process.js";

const [address] = process.argv.slice(2);
if (address === undefined) throw new Error("usage: protoipc.ts <endpoint>");
await runServerChild(() => serveProtoipcEcho(address));
