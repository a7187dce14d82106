/** Child entry of the command-frame echo servers: `command-frame.ts <protoipc|raw> <socket path>`. */
import { runServerChild } from "../server-process.js";
import {
  serveProtoipcCommandFrameEcho,
  serveRawCommandFrameEcho,
} from "../unix/command-frame-echo.js";

const [kind, path] = process.argv.slice(2);
if (kind === undefined || path === undefined)
  throw new Error("usage: command-frame.ts <protoipc|raw> <socket path>");
await runServerChild(() =>
  kind === "protoipc" ? serveProtoipcCommandFrameEcho(path) : serveRawCommandFrameEcho(path),
);
