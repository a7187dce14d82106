import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRegistry } from "@bufbuild/protobuf";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { printProtoSource } from "./proto-source-printer.js";

/**
 * The directory, relative to the repository root, that holds the `.proto` files derived at
 * install time; `buf.yaml` lists it as a second module (excluded from lint). Gitignored.
 */
export const DERIVED_PROTO_DIR = ".proto-deps";

/**
 * `buf/validate/validate.proto` as `.proto` source, printed from the file descriptor embedded in
 * the pinned `@bufbuild/protovalidate` npm package (its `validate_pb.js`). Comments are not part
 * of the embedded descriptor, so the derived file has none.
 */
export function deriveValidateProto(): string {
  const registry = createRegistry(file_buf_validate_validate);
  return printProtoSource(file_buf_validate_validate.proto, registry);
}

/**
 * Writes `<root>/.proto-deps/buf/validate/validate.proto` unless it already holds the same text.
 * Called by the root `postinstall` (scripts/derive-protos.sh), so `buf lint`, `buf generate` and
 * `pnpm check:generated` work on a fresh clone without the Buf Schema Registry.
 */
export function writeValidateProto(root: string): string {
  const path = join(root, DERIVED_PROTO_DIR, "buf", "validate", "validate.proto");
  const text = deriveValidateProto();
  let current: string | undefined;
  try {
    current = readFileSync(path, "utf8");
  } catch {
    current = undefined;
  }
  if (current !== text) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return path;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const path = writeValidateProto(root);
  console.log(`derive-validate-proto: ${path} ready`);
}
