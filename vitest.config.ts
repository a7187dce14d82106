import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "packages/*/src/**/*.test.ts",
      "codegen/src/**/*.test.ts",
      "test/**/*.test.ts",
      "examples/*/src/**/*.test.ts",
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // ZeroMQ and child-process tests bind real sockets; keep suites in separate workers.
    pool: "forks",
  },
});
