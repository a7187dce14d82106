import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { createClient } from "@protoipc/runtime";
import { TestService } from "@protoipc/runtime/testing";
import {
  childStdioDuplex,
  createContentLengthFramer,
  createStreamServerTransport,
  createStreamTransport,
  type StreamBinding,
} from "@protoipc/unix";
import { describe, expect, it } from "vitest";
import { freePort, privateDir } from "./helpers.js";
import { runTransportSuite } from "./transport-suite.js";

const STDIO_SERVER = resolve(import.meta.dirname, "fixtures/stdio-server.ts");

runTransportSuite("native over a Unix socket", async () => {
  const tmp = privateDir();
  const endpoint = { path: join(tmp.dir, "server.sock") };
  return {
    server: createStreamServerTransport({ endpoint }),
    connect: () => createStreamTransport({ endpoint }),
    dispose: async () => tmp.remove(),
  };
});

runTransportSuite("native over TCP", async () => {
  const endpoint = { host: "127.0.0.1", port: await freePort() };
  return {
    server: createStreamServerTransport({ endpoint }),
    connect: () => createStreamTransport({ endpoint }),
  };
});

runTransportSuite(
  "jsonrpc2 over a Unix socket",
  async () => {
    const tmp = privateDir();
    const endpoint = { path: join(tmp.dir, "server.sock") };
    // The suite's limits are the native binding's 4 MiB.
    const framer = createContentLengthFramer({ maxFrameBytes: 4 * 1024 * 1024 });
    return {
      server: createStreamServerTransport({ endpoint, binding: "jsonrpc2", framer }),
      connect: () => createStreamTransport({ endpoint, binding: "jsonrpc2", framer }),
      dispose: async () => tmp.remove(),
    };
  },
  { metadata: false },
);

describe.each<StreamBinding>(["native", "jsonrpc2"])("over a child's stdio (%s)", (binding) => {
  it("serves calls and progress on the child's stdin/stdout; the child exits when stdin closes", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", STDIO_SERVER, "--binding", binding], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
    const transport = createStreamTransport({ connect: () => childStdioDuplex(child), binding });
    try {
      const c = createClient(TestService, transport);
      expect((await c.echo({ value: "hi" })).value).toBe("hi");
      const call = c.work({ value: 20 });
      const got: number[] = [];
      for await (const p of call.progress) got.push(p.value);
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      await transport.close();
    }
    expect(await exited).toBe(0);
  });
});
