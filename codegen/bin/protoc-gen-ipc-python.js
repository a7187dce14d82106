#!/usr/bin/env node
// Launcher: the plugin is written in TypeScript and run from source through tsx, like every
// package of this monorepo (their `exports` point at `./src/*.ts`).
import { register } from "tsx/esm/api";

register();
await import("../src/protoc-gen-ipc-python.ts");
