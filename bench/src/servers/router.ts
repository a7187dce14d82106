/**
 * Child entry of the protoipc router (native mode, `@protoipc/router`).
 * Usage: `router.ts <endpoint to bind>`. Besides the stop protocol of `runServerChild`, answers
 * `{ type: "memory" }` with `{ type: "memory", heapUsedBytes, rssBytes, peers }` after a full GC.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createRouter } from "@protoipc/router";
import { runServerChild } from "../server-process.js";

const [bind] = process.argv.slice(2);
if (bind === undefined) throw new Error("usage: router.ts <endpoint>");

// A GC on demand, so the memory readings compare live objects rather than garbage.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const router = createRouter({ bind });
process.on("message", (message: { type?: string }) => {
  if (message.type !== "memory") return;
  gc();
  const m = process.memoryUsage();
  process.send?.({
    type: "memory",
    heapUsedBytes: m.heapUsed,
    rssBytes: m.rss,
    peers: router.peers().length,
  });
});
await runServerChild(async () => {
  await router.start();
  return router;
});
