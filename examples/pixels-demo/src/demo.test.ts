import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { GenerationStage, PixelService } from "@protoipc/pixels-sdk";
import {
  type ClientTransport,
  Code,
  createInMemoryTransport,
  createServer,
  type Server,
} from "@protoipc/runtime";
import { afterEach, describe, expect, it } from "vitest";
import { BACKEND_VERSION, createPixelBackend } from "./backend.js";
import { type ClientAppSummary, runClientApp } from "./client-app.js";
import { type BackendKind, startServerProcess, tsCommand } from "./server-process.js";
import { PNG_SIGNATURE } from "./sprite.js";

const ALL_STAGES = [
  GenerationStage.INITIALIZING,
  GenerationStage.LOADING_MODELS,
  GenerationStage.ENCODING,
  GenerationStage.SAMPLING,
  GenerationStage.DECODING,
  GenerationStage.POST_PROCESSING,
];

/** What the Python backend (backend-py/src/pixels_demo_backend/backend.py) reports in `Status`. */
const PYTHON_BACKEND_VERSION = "0.1.0-demo+python";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Collects everything written to a stream the client app prints on. */
function captureOutput(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = "";
  out.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  return { out, text: () => text };
}

/**
 * The script, as the client app saw it: job-1 completed with a PNG after every stage, job-2 was
 * cancelled half way through sampling, and cancelling it again was a typed NotFound.
 */
function expectTheDesignedRun(
  summary: ClientAppSummary,
  outDir: string,
  serverLog: readonly string[],
  text: string,
): void {
  expect(summary.models).toEqual(["SDXL Base 1.0", "Pixel Art LoRA", "SDXL VAE"]);
  const [job1, job2] = summary.jobs;
  expect(job1?.started).toBe(true);
  expect(job1?.stages).toEqual(ALL_STAGES);
  expect(job1?.previewSteps).toEqual([10, 20, 30]);
  expect(job1?.outcome.kind).toBe("completed");
  if (job1?.outcome.kind === "completed") {
    expect(job1.outcome.imagePath).toBe(path.join(outDir, "job-1.png"));
    expect(readFileSync(job1.outcome.imagePath).subarray(0, 8)).toEqual(PNG_SIGNATURE);
  }
  // job-2 stopped in sampling, around step 20 of 40, and never reached decoding.
  expect(job2?.stages).toEqual(ALL_STAGES.slice(0, 4));
  expect(job2?.lastStep).toBeGreaterThanOrEqual(20);
  expect(job2?.lastStep).toBeLessThan(40);
  expect(job2?.outcome).toMatchObject({ kind: "failed", code: Code.Canceled });
  expect(summary.cancelAgainCode).toBe(Code.NotFound);
  // The server's handler saw the cancellation, and the user was told.
  expect(serverLog.some((l) => /job-2 stopped at sampling step \d+\/40/.test(l))).toBe(true);
  expect(text).toContain("job-1  completed");
  expect(text).toContain("job-2  cancelled at step");
}

/** Runs `src/main.ts` with `args` in a child process; resolves with its exit code and output. */
async function runMain(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { command, args: argv } = tsCommand(new URL("./main.ts", import.meta.url), args);
  const child = spawn(command, argv, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  return { code, stdout, stderr };
}

describe("pixels demo", () => {
  it("client app against the TypeScript backend in process: job-1 completes with a PNG, job-2 is cancelled half way", async () => {
    const outDir = tempDir("protoipc-demo-test-");
    const serverLog: string[] = [];
    const memory = createInMemoryTransport();
    const server: Server = createServer(memory.server);
    server.register(PixelService, createPixelBackend({ outDir, log: (l) => serverLog.push(l) }));
    await server.listen();
    cleanups.push(() => server.close());
    const transport: ClientTransport = memory.connect();
    cleanups.push(() => transport.close());
    const { out, text } = captureOutput();

    const summary = await runClientApp("in-memory", out, { transport });

    expect(summary.serverVersion).toBe(BACKEND_VERSION);
    expectTheDesignedRun(summary, outDir, serverLog, text());
  });

  it("client app against the Python backend process: the same run, served by the generated Python stubs", async () => {
    const dir = tempDir("protoipc-demo-test-");
    const outDir = path.join(dir, "out");
    const endpoint = `ipc://${path.join(dir, "pixels.sock")}`;
    const server = await startServerProcess({ bind: endpoint, outDir, backend: "python" });
    cleanups.push(() => server.stop());
    expect(server.command).toMatch(/\.venv\/bin\/python -m pixels_demo_backend --bind ipc:\/\//);
    const { out, text } = captureOutput();

    const summary = await runClientApp(endpoint, out);
    await server.stop();

    expect(summary.serverVersion).toBe(PYTHON_BACKEND_VERSION);
    expectTheDesignedRun(summary, outDir, server.log, text());
    // The Python process logged its shutdown on SIGTERM and closed the server cleanly.
    expect(server.log.some((l) => l.endsWith(" SIGTERM: closing the server"))).toBe(true);
    expect(server.log.at(-1)).toMatch(/ closed$/);
  }, 30_000);

  it("a missing Python interpreter is a clear error naming the command", async () => {
    const dir = tempDir("protoipc-demo-test-");
    const missing = path.join(dir, "no-venv", "bin", "python");

    await expect(
      startServerProcess({
        bind: `ipc://${path.join(dir, "pixels.sock")}`,
        outDir: dir,
        python: missing,
      }),
    ).rejects.toThrow(
      `cannot start the python backend: ${missing} does not exist; run pnpm install to create .venv (command: ${missing} -m pixels_demo_backend`,
    );
  });

  const backends: { backend: BackendKind; label: string; args: string[] }[] = [
    { backend: "python", label: "python backend", args: [] }, // the default
    { backend: "ts", label: "typescript backend", args: ["--backend", "ts"] },
  ];
  for (const { backend, label, args } of backends) {
    it(`main runs the whole demo across two processes with the ${label} and exits 0 by itself`, async () => {
      const outDir = tempDir("protoipc-demo-test-");

      const { code, stdout, stderr } = await runMain(["--out", outDir, ...args]);

      expect(code, `exit code; stderr:\n${stderr}`).toBe(0);
      expect(stderr).not.toContain("demo failed");
      expect(stdout).toContain(`protoipc pixels demo · ${label}`);
      expect(stdout).toMatch(
        new RegExp(`server\\s+${label} ready on ipc://.*protoipc-demo-.*/pixels\\.sock`),
      );
      if (backend === "python") {
        expect(stdout).toMatch(/\.venv\/bin\/python -m pixels_demo_backend --bind/);
        expect(stdout).toContain(`backend ${PYTHON_BACKEND_VERSION}`);
      } else {
        expect(stdout).toMatch(/src\/server\.ts --bind/);
        expect(stdout).toContain(`backend ${BACKEND_VERSION},`);
      }
      // Stage lines arrive in pipeline order for job-1.
      const job1Stages = [...stdout.matchAll(/^ job-1\s+\d+%\s+(\w+)/gm)].map((m) => m[1]);
      expect(job1Stages).toEqual([
        "initializing",
        "loading_models",
        "encoding",
        "sampling",
        "decoding",
        "post_processing",
      ]);
      expect(stdout).toContain("job-1  completed");
      expect(stdout).toMatch(/job-2 {2}cancelled at step \d+\/40: IpcError canceled/);
      // The server's log, printed after the run: the job events and a clean shutdown.
      expect(stdout).toContain(`server log    ${label}`);
      expect(stdout).toMatch(/job-1 completed in \d+\.\d\d s: /);
      expect(stdout).toMatch(/job-2 stopped at sampling step \d+\/40/);
      expect(stdout).toMatch(/SIGTERM: closing the server\n\s+\+\d+\.\d\ds closed\n/);
      expect(stdout).toContain("demo finished");
      expect(readFileSync(path.join(outDir, "job-1.png")).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    }, 40_000);
  }
});
