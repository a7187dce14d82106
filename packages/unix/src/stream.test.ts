import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, createClient, createServer, type IpcError } from "@protoipc/runtime";
import { TestService } from "@protoipc/runtime/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createContentLengthFramer } from "./content-length-framer.js";
import { assertSocketPath, isNamedPipePath, namedPipePath } from "./endpoint.js";
import {
  createStreamServerTransport,
  createStreamTransport,
  type StreamBinding,
} from "./transport.js";

function thrown(fn: () => unknown): IpcError {
  try {
    fn();
  } catch (e) {
    return e as IpcError;
  }
  throw new Error("expected a throw");
}

describe("socket paths", () => {
  it("builds and recognises Windows named pipe paths, and refuses them elsewhere", () => {
    expect(namedPipePath("poppobuilder-daemon")).toBe("\\\\.\\pipe\\poppobuilder-daemon");
    expect(isNamedPipePath("\\\\.\\pipe\\x")).toBe(true);
    expect(isNamedPipePath("/tmp/x.sock")).toBe(false);
    expect(() => assertSocketPath("\\\\.\\pipe\\x", "win32")).not.toThrow();
    const err = thrown(() => assertSocketPath("\\\\.\\pipe\\x", "linux"));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe(
      "named pipe \\\\.\\pipe\\x is only supported on windows, not on linux",
    );
    expect(thrown(() => namedPipePath("a\\b")).code).toBe(Code.InvalidArgument);
  });

  it("checks the Unix socket path limit per platform", () => {
    expect(() => assertSocketPath(`/${"a".repeat(106)}`, "linux")).not.toThrow();
    expect(thrown(() => assertSocketPath(`/${"a".repeat(107)}`, "linux")).rawMessage).toMatch(
      /^socket path of 108 bytes exceeds the limit of 107 bytes/,
    );
    expect(thrown(() => assertSocketPath(`/${"a".repeat(103)}`, "darwin")).code).toBe(
      Code.InvalidArgument,
    );
  });
});

describe.each<StreamBinding>(["native", "jsonrpc2"])("a malformed stream (%s)", (binding) => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "protoipc-unix-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("gets one error reply and a close, while other connections keep being served", async () => {
    const path = join(dir, "s.sock");
    const server = createServer(createStreamServerTransport({ endpoint: { path }, binding }));
    server.register(TestService, { echo: (req) => ({ value: req.value }) });
    await server.listen();
    const good = createStreamTransport({ endpoint: { path }, binding });
    try {
      const c = createClient(TestService, good);
      expect((await c.echo({ value: "before" })).value).toBe("before");
      const bad = connect(path);
      const received: Buffer[] = [];
      bad.on("data", (d: Buffer) => received.push(d));
      const closed = new Promise<void>((resolve) => bad.once("close", () => resolve()));
      // A length prefix of 4 GiB - 1 (native) or a non-numeric Content-Length (jsonrpc2).
      bad.write(
        binding === "native"
          ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0])
          : Buffer.from("Content-Length: lots\r\n\r\n"),
      );
      await closed;
      const reply = Buffer.concat(received).toString("latin1");
      expect(reply).toMatch(
        binding === "native" ? /exceeds maxFrameBytes/ : /-32700.*not a decimal integer/,
      );
      expect((await c.echo({ value: "after" })).value).toBe("after");
    } finally {
      await good.close();
      await server.close();
    }
  });
});

describe("jsonrpc2 on the wire", () => {
  it("refuses a batch with InvalidRequest and answers the next request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "protoipc-unix-"));
    const path = join(dir, "s.sock");
    const server = createServer(
      createStreamServerTransport({ endpoint: { path }, binding: "jsonrpc2" }),
    );
    server.register(TestService, { echo: (req) => ({ value: req.value }) });
    await server.listen();
    const socket = connect(path);
    try {
      const framer = createContentLengthFramer();
      const decoder = framer.createDecoder();
      const replies: unknown[] = [];
      const two = new Promise<void>((resolve) => {
        socket.on("data", (d: Buffer) => {
          for (const f of decoder.push(d)) replies.push(JSON.parse(Buffer.from(f).toString()));
          if (replies.length === 2) resolve();
        });
      });
      for (const body of [
        '[{"jsonrpc":"2.0","id":1,"method":"protoipc.test.TestService/Echo","params":["a"]}]',
        '{"jsonrpc":"2.0","id":2,"method":"protoipc.test.TestService/Echo","params":{"value":"b"}}',
      ]) {
        for (const chunk of framer.encode(Buffer.from(body))) socket.write(chunk);
      }
      await two;
      expect(replies).toEqual([
        {
          jsonrpc: "2.0",
          id: null,
          error: { code: -32600, message: "batch requests are not supported" },
        },
        { jsonrpc: "2.0", id: 2, result: "b" },
      ]);
    } finally {
      socket.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
