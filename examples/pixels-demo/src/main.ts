/**
 * The pixels demo, end to end: starts the stand-in pixels server as a child process on a private
 * `ipc://` endpoint, runs the client app against it, stops the server and cleans up.
 *
 *   pnpm demo                       (from the repository root: regenerates the SDK first)
 *   tsx src/main.ts [--out <dir>] [--backend python|ts] [--binding native|tagged]
 *
 * `--out`: images go to <dir>; default: this package's out/. `--backend`: `python` (default) runs
 * the Python backend (`backend-py/`, `python -m pixels_demo_backend` in the repository's .venv);
 * `ts` runs the TypeScript one (`src/server.ts`). `--binding`: `native` (default) is protoipc's own
 * protocol; `tagged` is the original dgx-pixels wire (MessagePack maps over REQ/REP, progress on
 * PUB/SUB): same generated client, another transport (`createZmqTaggedTransport`).
 *
 * Exits 0 when the demo went as designed (job-1 completed with a PNG, job-2 cancelled), 1 with a
 * message on stderr otherwise, 2 on bad arguments, 130 when interrupted with Ctrl-C.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type ClientTransport, Code, codeToString } from "@protoipc/runtime";
import { createZmqTaggedTransport } from "@protoipc/zeromq";
import { type ClientAppSummary, runClientApp } from "./client-app.js";
import {
  BACKEND_KINDS,
  type BackendKind,
  backendLabel,
  type ServerProcess,
  startServerProcess,
} from "./server-process.js";
import { PNG_SIGNATURE } from "./sprite.js";
import { colorsFor, heading } from "./terminal.js";

/** If something keeps the event loop alive this long after the demo ended, say so and exit anyway. */
const EXIT_GRACE_MS = 3_000;

const stdout = process.stdout;
const colors = colorsFor(stdout);
const print = (line = "") => stdout.write(`${line}\n`);
const t0 = performance.now();

let outDir: string;
let backend: BackendKind;
let binding: "native" | "tagged";
try {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      backend: { type: "string", default: "python" },
      binding: { type: "string", default: "native" },
    },
    strict: true,
  });
  if (values.binding !== "native" && values.binding !== "tagged") {
    throw new Error(`--binding ${JSON.stringify(values.binding)} is not one of native, tagged`);
  }
  binding = values.binding;
  outDir = path.resolve(values.out ?? fileURLToPath(new URL("../out", import.meta.url)));
  const kind = BACKEND_KINDS.find((k) => k === values.backend);
  if (kind === undefined) {
    throw new Error(
      `--backend ${JSON.stringify(values.backend)} is not one of ${BACKEND_KINDS.join(", ")}`,
    );
  }
  backend = kind;
} catch (e) {
  process.stderr.write(
    `${e instanceof Error ? e.message : String(e)}\nusage: main.ts [--out <dir>] [--backend python|ts] [--binding native|tagged]\n`,
  );
  process.exit(2);
}

print(`${colors.bold("protoipc pixels demo")} ${colors.dim("·")} ${backendLabel(backend)}`);
print(
  colors.dim(
    backend === "python"
      ? "a TypeScript client app drives a stand-in image generator written in Python in another process; both sides use the SDK generated from pixels.proto"
      : "a client app drives a stand-in image generator in another process through the generated pixels SDK",
  ),
);
print();

// The socket lives in a directory only we can enter (0700), removed at the end.
const privateDir = mkdtempSync(path.join(os.tmpdir(), "protoipc-demo-"));
chmodSync(privateDir, 0o700);
const endpoint = `ipc://${path.join(privateDir, "pixels.sock")}`;
const updates =
  binding === "tagged" ? `ipc://${path.join(privateDir, "pixels-updates.sock")}` : undefined;

// Ctrl-C reaches the server too (same process group); here it cancels the client's calls.
const interrupt = new AbortController();
process.once("SIGINT", () => interrupt.abort(new Error("interrupted (SIGINT)")));

let server: ServerProcess | undefined;
let exitCode = 0;
try {
  const started = performance.now();
  server = await startServerProcess({
    bind: endpoint,
    outDir,
    backend,
    ...(updates === undefined ? {} : { updates }),
  });
  const startupMs = Math.round(performance.now() - started);
  print(
    heading(
      colors,
      "server",
      `${backendLabel(backend)} ready on ${endpoint}${updates === undefined ? "" : ` (tagged binding, updates on ${updates})`} after ${startupMs} ms`,
    ),
  );
  print(colors.dim(`    ${server.command}`));

  // The same generated client on either binding: only the transport differs.
  const transport: ClientTransport | undefined =
    updates === undefined
      ? undefined
      : createZmqTaggedTransport({ address: endpoint, updatesAddress: updates });
  let summary: ClientAppSummary;
  try {
    summary = await runClientApp(endpoint, stdout, {
      signal: interrupt.signal,
      ...(transport === undefined ? {} : { transport }),
    });
  } finally {
    await transport?.close();
  }
  await server.stop();
  printServerLog(server.log);
  const problems = checkSummary(summary);
  if (problems.length > 0) {
    throw new Error(`the demo did not go as designed:\n  ${problems.join("\n  ")}`);
  }
  print();
  print(
    `${colors.green("✓")} demo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s; images are in ${outDir}`,
  );
} catch (e) {
  if (interrupt.signal.aborted) {
    exitCode = 130; // the shell's convention for "ended by SIGINT"
    process.stderr.write(`\n${colors.yellow("✗ demo interrupted")}; stopping the server\n`);
  } else {
    exitCode = 1;
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`\n${colors.red("✗ demo failed:")} ${message}\n`);
  }
  if (server !== undefined) {
    await server.stop().catch((stopError: unknown) => {
      process.stderr.write(
        `  ${stopError instanceof Error ? stopError.message : String(stopError)}\n`,
      );
    });
    printServerLog(server.log);
  }
} finally {
  rmSync(privateDir, { recursive: true, force: true });
}

process.exitCode = exitCode;
setTimeout(() => {
  process.stderr.write(
    `something kept the demo alive ${EXIT_GRACE_MS} ms after it ended; exiting\n`,
  );
  process.exit(exitCode === 0 ? 1 : exitCode);
}, EXIT_GRACE_MS).unref();

/** Prints the server's stderr, which was held back so it would not break the live progress bars. */
function printServerLog(lines: readonly string[]): void {
  if (lines.length === 0) return;
  print();
  print(heading(colors, "server log", backendLabel(backend)));
  for (const line of lines) print(colors.dim(`    ${line}`));
}

/** What went differently from the script: job-1 must complete with a PNG, job-2 must be cancelled. */
function checkSummary(summary: ClientAppSummary): string[] {
  const problems: string[] = [];
  const [job1, job2] = summary.jobs;
  if (job1?.outcome.kind !== "completed") {
    const why =
      job1?.outcome.kind === "failed"
        ? `${codeToString(job1.outcome.code)}: ${job1.outcome.message}`
        : "missing";
    problems.push(`job-1 should have completed, but failed with ${why}`);
  } else if (!job1.outcome.header.equals(PNG_SIGNATURE)) {
    problems.push(`job-1's image ${job1.outcome.imagePath} does not start with the PNG signature`);
  }
  if (job2?.outcome.kind !== "failed" || job2.outcome.code !== Code.Canceled) {
    problems.push(
      `job-2 should have been cancelled, but ended as ${JSON.stringify(job2?.outcome.kind ?? "missing")}`,
    );
  }
  return problems;
}
