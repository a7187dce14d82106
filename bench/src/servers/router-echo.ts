/**
 * Child entry of the echo server registered with a protoipc router (`@protoipc/router`).
 * Usage: `router-echo.ts <router endpoint>`.
 */
import { serveProtoipcEchoViaRouter } from "../protoipc-echo.js";
import { runServerChild } from "../server-process.js";

const [address] = process.argv.slice(2);
if (address === undefined) throw new Error("usage: router-echo.ts <router endpoint>");
await runServerChild(() => serveProtoipcEchoViaRouter(address));
