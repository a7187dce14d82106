/** Test helpers: private temp directories, free ports, child processes that announce readiness. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { IpcError } from "@protoipc/runtime";
import { expect } from "vitest";

/** A fresh private directory (mode 0700) and a function that removes it. */
export function privateDir(prefix = "protoipc-test-"): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a child process to bind.
 *
 * Picked at random from 20000–32767, below Linux's ephemeral range (32768–60999): a port the
 * kernel handed out for `listen(0)` is also where it hands out source ports of outgoing
 * connections, so any test connecting meanwhile could take it before the child binds it.
 * A port found busy is skipped.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    if (await canListen(port)) return port;
  }
  throw new Error("no free port in 20000-32767 after 50 tries");
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** Options of {@link spawnReady}. */
export interface SpawnReadyOptions {
  /** How long the child may take to print `ready`, in milliseconds; default 15 000. */
  startupMs?: number;
  /** `"tsx"` (default): run `node --import tsx <script>`; `"none"`: run `<script>` itself. */
  interpreter?: "tsx" | "none";
}

/**
 * Spawns `node --import tsx <script> ...args` (or `<script> ...args`) and resolves once it prints
 * `ready`; rejects if it exits first or stays silent for `startupMs`.
 */
export function spawnReady(
  script: string,
  args: string[],
  options: SpawnReadyOptions = {},
): Promise<ChildProcess> {
  const startupMs = options.startupMs ?? 15_000;
  const [command, argv] =
    options.interpreter === "none"
      ? [script, args]
      : [process.execPath, ["--import", "tsx", script, ...args]];
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not print "ready" within ${startupMs} ms`));
    }, startupMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (line.trim() === "ready") {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before it was ready`));
    });
  });
}

/** Kills `child` (SIGKILL unless told otherwise) and resolves when it has exited. */
export function killAndWait(
  child: ChildProcess,
  signal: NodeJS.Signals = "SIGKILL",
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

/** Awaits `p`, expecting it to reject with an IpcError, and returns that error. */
export async function rejection(p: Promise<unknown>): Promise<IpcError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(IpcError);
    return e as IpcError;
  }
  throw new Error("expected the call to fail");
}
