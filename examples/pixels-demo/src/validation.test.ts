/**
 * The pixels schema's buf.validate rules, end to end over ZeroMQ with real server processes:
 * the TypeScript client rejects a bad request before sending; with `{ validate: false }` the
 * server (Python or TypeScript backend) rejects it before its handler, with the same typed
 * violations; and a Python client gets the same violations from the TypeScript server.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PixelService } from "@protoipc/pixels-sdk";
import {
  Code,
  createClient,
  fieldPathToString,
  IpcError,
  ViolationsSchema,
} from "@protoipc/runtime";
import { createZmqTransport } from "@protoipc/zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { BACKEND_KINDS, startServerProcess, venvPython } from "./server-process.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "protoipc-validate-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A request breaking three rules: prompt empty, size one item, steps above 150. */
const BAD = { id: "job-1", prompt: "", model: "sdxl-base", size: [64], steps: 151, cfgScale: 7 };
const BAD_VIOLATIONS = [
  ["prompt", "string.min_len"],
  ["size", "repeated.min_items"],
  ["steps", "uint32.gte_lte"],
];

function violationsOf(e: unknown): string[][] {
  expect(e).toBeInstanceOf(IpcError);
  const err = e as IpcError;
  expect(err.code).toBe(Code.InvalidArgument);
  const [detail] = err.findDetails(ViolationsSchema);
  return (detail?.violations ?? []).map((v) => [fieldPathToString(v.field), v.ruleId]);
}

async function startBackend(backend: (typeof BACKEND_KINDS)[number]) {
  const dir = tempDir();
  const bind = `ipc://${dir}/pixels.sock`;
  const server = await startServerProcess({ bind, outDir: dir, backend });
  cleanups.push(() => server.stop());
  const transport = createZmqTransport({ address: bind });
  cleanups.push(() => transport.close());
  return { bind, server, client: createClient(PixelService, transport) };
}

describe("pixels validation rules end to end", () => {
  it("rejects a bad request in the client, before anything is sent", async () => {
    // No server listens here: a sent call could only time out; validation answers at once.
    const transport = createZmqTransport({ address: `ipc://${tempDir()}/nobody.sock` });
    cleanups.push(() => transport.close());
    const client = createClient(PixelService, transport);
    const err = await client.generate(BAD).result.catch((e: unknown) => e);
    expect(violationsOf(err)).toEqual(BAD_VIOLATIONS);
    expect((err as IpcError).rawMessage).toBe(
      "invalid pixels.v1.GenerateRequest: prompt: must be at least 1 characters [string.min_len]; size: must contain at least 2 item(s) [repeated.min_items]; steps: must be greater than or equal to 1 and less than or equal to 150 [uint32.gte_lte]",
    );
  });

  for (const backend of BACKEND_KINDS) {
    it(`with validation off in the client, the ${backend} server rejects it before its handler`, async () => {
      const { server, client } = await startBackend(backend);
      const err = await client.generate(BAD, { validate: false }).result.catch((e: unknown) => e);
      expect(violationsOf(err)).toEqual(BAD_VIOLATIONS);
      // The handler logs every job it starts; it never saw this one.
      expect(server.log.filter((l) => l.includes("job-1"))).toEqual([]);
      // A valid request still works on the same connection.
      const models = await client.listModels({});
      expect(models.models.length).toBeGreaterThan(0);
    });
  }

  it("a Python client gets the same typed violations from the TypeScript server", async () => {
    const { bind } = await startBackend("ts");
    const script = `
import asyncio, json, sys
from buf.validate import validate_pb2
from pixels.v1 import pixels_ipc, pixels_pb2
from protoipc import IpcError
from protoipc.validate import field_path_to_string
from protoipc.zmq import create_zmq_transport

async def main() -> None:
    async with create_zmq_transport(sys.argv[1]) as t:
        client = pixels_ipc.PixelServiceClient(t)
        req = pixels_pb2.GenerateRequest(id="job-1", prompt="", model="sdxl-base", size=[64], steps=151, cfg_scale=7)
        out = {}
        for validate in (True, False):
            try:
                await client.generate(req, validate=validate).result()
            except IpcError as e:
                [d] = e.find_details(validate_pb2.Violations)
                out[str(validate)] = [int(e.code), [[field_path_to_string(v.field), v.rule_id] for v in d.violations]]
        print(json.dumps(out))

asyncio.run(main())
`;
    const { stdout } = await promisify(execFile)(venvPython(), ["-c", script, bind], {
      timeout: 20_000,
    });
    expect(JSON.parse(stdout)).toEqual({
      True: [Code.InvalidArgument, BAD_VIOLATIONS],
      False: [Code.InvalidArgument, BAD_VIOLATIONS],
    });
  });
});
