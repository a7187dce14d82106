/**
 * The pixels server process: serves the stand-in backend on a ZeroMQ endpoint.
 *
 *   tsx src/server.ts --bind ipc:///tmp/dir/pixels.sock --out /tmp/images [--updates <endpoint>]
 *
 * With `--updates`, it serves the tagged binding (the original dgx-pixels wire: MessagePack maps
 * on `--bind`, progress published on `--updates`) instead of the native one.
 *
 * Prints exactly one line on stdout, `ready <endpoint>`, once it is listening (a parent process
 * waits for it); logs job events to stderr. Closes the server and exits 0 on SIGTERM or SIGINT.
 * Exits 2 on bad arguments, 1 when it cannot listen or shut down.
 */
import { parseArgs } from "node:util";
import { PixelService } from "@protoipc/pixels-sdk";
import { createServer } from "@protoipc/runtime";
import { createZmqServerTransport, createZmqTaggedServerTransport } from "@protoipc/zeromq";
import { createPixelBackend } from "./backend.js";

/** After SIGTERM, the process must be gone within this many milliseconds, or it exits 1. */
const SHUTDOWN_GRACE_MS = 5_000;

/** Writes one log line to stderr, stamped with the seconds since this process started. */
const log = (line: string) =>
  process.stderr.write(`+${(performance.now() / 1000).toFixed(2)}s ${line}\n`);

let args: { bind: string; out: string; updates: string | undefined };
try {
  const { values } = parseArgs({
    options: { bind: { type: "string" }, out: { type: "string" }, updates: { type: "string" } },
    strict: true,
  });
  if (values.bind === undefined || values.out === undefined) {
    throw new Error("--bind and --out are required");
  }
  args = { bind: values.bind, out: values.out, updates: values.updates };
} catch (e) {
  process.stderr.write(
    `${e instanceof Error ? e.message : String(e)}\nusage: server.ts --bind <endpoint> --out <dir> [--updates <endpoint>]\n`,
  );
  process.exit(2);
}

const server = createServer(
  args.updates === undefined
    ? createZmqServerTransport({ bind: args.bind })
    : createZmqTaggedServerTransport({
        service: PixelService,
        bind: args.bind,
        updatesBind: args.updates,
      }),
);
server.register(PixelService, createPixelBackend({ outDir: args.out, log }));

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`${signal}: closing the server`);
  // Never hang: if close() or a leftover handle keeps the process alive, say so and leave.
  setTimeout(() => {
    log(`still running ${SHUTDOWN_GRACE_MS} ms after ${signal}; exiting 1`);
    process.exit(1);
  }, SHUTDOWN_GRACE_MS).unref();
  try {
    await server.close();
    log("closed");
  } catch (e) {
    log(`close failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  }
}
process.once("SIGTERM", (s) => void shutdown(s));
process.once("SIGINT", (s) => void shutdown(s));

try {
  await server.listen();
} catch (e) {
  log(`cannot listen on ${args.bind}: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
log(`listening on ${args.bind}, writing images to ${args.out}`);
process.stdout.write(`ready ${args.bind}\n`);
