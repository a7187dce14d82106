/**
 * Child entry of the grpc-js baseline server.
 * Usage: `grpc.ts <absolute Unix socket path>`.
 */
import { serveGrpcEcho } from "../baselines/grpc.js";
import { runServerChild } from "../server-process.js";

const [socketPath] = process.argv.slice(2);
if (socketPath === undefined) throw new Error("usage: grpc.ts <unix socket path>");
await runServerChild(() => serveGrpcEcho(socketPath));
