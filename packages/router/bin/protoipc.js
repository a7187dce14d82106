#!/usr/bin/env node
// The `protoipc` command. Published packages (files: bin, dist) run the compiled dist/cli.js. In
// this monorepo, where the sources are present (and the workspace packages export .ts), the
// command runs src/cli.ts in a child `node --import tsx`
// (tsx's loader must be in place before the first import); the child stops when this process
// ends, even by SIGKILL (it watches for being orphaned).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const dist = new URL("../dist/cli.js", import.meta.url);
const source = new URL("../src/cli.ts", import.meta.url);
if (!existsSync(source)) {
  const cli = await import(dist.href);
  process.exitCode = await cli.runCli(args);
} else if (process.env.PROTOIPC_DEV_PARENT !== undefined) {
  const parent = Number(process.env.PROTOIPC_DEV_PARENT);
  const watch = setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, "SIGTERM");
  }, 200);
  watch.unref();
  const cli = await import(source.href);
  process.exitCode = await cli.runCli(args);
} else {
  const child = spawn(
    process.execPath,
    ["--import", import.meta.resolve("tsx"), fileURLToPath(import.meta.url), ...args],
    { stdio: "inherit", env: { ...process.env, PROTOIPC_DEV_PARENT: String(process.pid) } },
  );
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
}
