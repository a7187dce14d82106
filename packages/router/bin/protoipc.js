#!/usr/bin/env node
// The `protoipc` command. Published packages run the compiled dist/cli.js; in this monorepo the
// TypeScript sources run through tsx.
import { existsSync } from "node:fs";

const dist = new URL("../dist/cli.js", import.meta.url);
let cli;
if (existsSync(dist)) {
  cli = await import(dist.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  cli = await import(new URL("../src/cli.ts", import.meta.url).href);
}
process.exitCode = await cli.runCli(process.argv.slice(2));
