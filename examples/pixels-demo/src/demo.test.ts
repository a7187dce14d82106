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
import { createPixelBackend } from "./backend.js";
import { runClientApp } from "./client-app.js";
import { tsCommand } from "./server-process.js";
import { PNG_SIGNATURE } from "./sprite.js";

const ALL_STAGES = [
  GenerationStage.INITIALIZING,
  GenerationStage.LOADING_MODELS,
  GenerationStage.ENCODING,
  GenerationStage.SAMPLING,
  GenerationStage.DECODING,
  GenerationStage.POST_PROCESSING,
];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("pixels demo", () => {
  it("client app against the backend in process: job-1 completes with a PNG, job-2 is cancelled half way", async () => {
    const outDir = tempDir("protoipc-demo-test-");
    const serverLog: string[] = [];
    const memory = createInMemoryTransport();
    const server: Server = createServer(memory.server);
    server.register(PixelService, createPixelBackend({ outDir, log: (l) => serverLog.push(l) }));
    await server.listen();
    cleanups.push(() => server.close());
    const transport: ClientTransport = memory.connect();
    cleanups.push(() => transport.close());
    const out = new PassThrough();
    let text = "";
    out.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
    });

    const summary = await runClientApp("in-memory", out, { transport });

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
    // The server's handler saw its signal abort, and the user was told.
    expect(serverLog.some((l) => l.startsWith("job-2 stopped at sampling"))).toBe(true);
    expect(text).toContain("job-1  completed");
    expect(text).toContain("job-2  cancelled at step");
  });

  it("main runs the whole demo across two processes and exits 0 by itself", async () => {
    const outDir = tempDir("protoipc-demo-test-");
    const { command, args } = tsCommand(new URL("./main.ts", import.meta.url), ["--out", outDir]);
    const child = spawn(command, args, {
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
    const code = await new Promise<number | null>((resolve) =>
      child.once("exit", (c) => resolve(c)),
    );

    expect(code, `exit code; stderr:\n${stderr}`).toBe(0);
    expect(stderr).not.toContain("demo failed");
    expect(stdout).toMatch(/server\s+ready on ipc:\/\/.*protoipc-demo-.*\/pixels\.sock/);
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
    expect(stdout).toMatch(/job-2 stopped at sampling step/); // the server's log
    expect(stdout).toContain("demo finished");
    expect(readFileSync(path.join(outDir, "job-1.png")).subarray(0, 8)).toEqual(PNG_SIGNATURE);
  }, 40_000);
});
