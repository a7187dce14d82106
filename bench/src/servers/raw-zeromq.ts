/**
 * Child entry of the raw zeromq.js baseline server.
 * Usage: `raw-zeromq.ts <echo endpoint> <flood endpoint>`, e.g. two `ipc://` endpoints.
 */
import { serveRawZmq } from "../baselines/raw-zeromq.js";
import { runServerChild } from "../server-process.js";

const [echo, flood] = process.argv.slice(2);
if (echo === undefined || flood === undefined) {
  throw new Error("usage: raw-zeromq.ts <echo endpoint> <flood endpoint>");
}
await runServerChild(() => serveRawZmq({ echo, flood }));
