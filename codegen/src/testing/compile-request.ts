import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  type CodeGeneratorRequest,
  CodeGeneratorRequestSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";

import { deriveValidateProto } from "../derive-validate-proto.js";

/** The repository's proto/ directory, home of protoipc/v1/options.proto. */
const protoRoot = fileURLToPath(new URL("../../../proto/", import.meta.url));

/** The buf CLI of the @bufbuild/buf devDependency. */
const bufBin = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));

/** Options of {@link compileRequest}. */
export interface CompileRequestOptions {
  /** The plugin parameter; default `"target=ts"`. */
  readonly parameter?: string;
  /**
   * The files to generate; default: the keys of `files`. protoipc/v1/options.proto and buf/validate/validate.proto
   * (derived, see derive-validate-proto.ts) are always available for import but only generated when listed here.
   */
  readonly fileToGenerate?: readonly string[];
}

/**
 * Compiles inline .proto sources, keyed by path (`"demo/v1/demo.proto"`), into the
 * CodeGeneratorRequest buf would send a plugin: writes them with protoipc/v1/options.proto to a
 * temporary directory, runs `buf build --as-file-descriptor-set` (with source info, so comments
 * reach the plugin) and removes the directory again.
 *
 * @throws Error with buf's output when the sources do not compile.
 */
export function compileRequest(
  files: Readonly<Record<string, string>>,
  options: CompileRequestOptions = {},
): CodeGeneratorRequest {
  const dir = mkdtempSync(join(tmpdir(), "protoc-gen-ipc-es-"));
  try {
    const all: Record<string, string> = {
      "protoipc/v1/options.proto": readFileSync(
        join(protoRoot, "protoipc/v1/options.proto"),
        "utf8",
      ),
      "buf/validate/validate.proto": deriveValidateProto(),
      ...files,
    };
    for (const [path, content] of Object.entries(all)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const p = spawnSync(
      bufBin,
      ["build", dir, "--as-file-descriptor-set", "-o", "-#format=binpb"],
      {
        encoding: "buffer",
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    if (p.error !== undefined) {
      throw p.error;
    }
    if (p.status !== 0) {
      throw new Error(`buf build failed: ${p.stderr.toString("utf8").split(dir).join("")}`);
    }
    const set = fromBinary(FileDescriptorSetSchema, p.stdout);
    return create(CodeGeneratorRequestSchema, {
      parameter: options.parameter ?? "target=ts",
      fileToGenerate: [...(options.fileToGenerate ?? Object.keys(files))],
      protoFile: set.file,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
