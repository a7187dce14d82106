import { createRegistry, type Registry } from "@bufbuild/protobuf";
import type { CodeGeneratorRequest, CodeGeneratorResponse } from "@bufbuild/protobuf/wkt";
import { createEcmaScriptPlugin, type Plugin, type Schema } from "@bufbuild/protoplugin";
import { emitService } from "./emit.js";
import { resolveService } from "./service-model.js";
import { emitValidators } from "./validate-emit.js";
import { planValidators } from "./validate-model.js";

/** The plugin's name, as buf and protoc call it and as generated preambles print it. */
export const PLUGIN_NAME = "protoc-gen-ipc-es";

/** The plugin's version, printed in generated preambles; follows the package version. */
export const PLUGIN_VERSION = "v0.1.0";

/**
 * The `protoc-gen-ipc-es` plugin: for each .proto file with services, generates
 * `<name>_ipc.ts` next to protoc-gen-es's `<name>_pb.ts`, holding per service a client interface,
 * a handler interface and a service descriptor for `@protoipc/runtime`. Files without services
 * produce nothing.
 *
 * Plugin options: the standard protoplugin ones (`target`, `import_extension`,
 * `js_import_style`, `keep_empty_files`, `ts_nocheck`, ...), and `cel=delegate`: messages with
 * custom CEL rules (`buf.validate` `cel`) are validated by `@bufbuild/protovalidate` at run time
 * (the generated file imports it; without the option such rules fail generation, naming the
 * field). Only `target=ts` is generated
 * directly; `target=js` and `target=dts` are produced by protoplugin's built-in transpiler from
 * the TypeScript output.
 *
 * Known limitation: the generated signatures use the global types `Promise` and `AsyncIterable`,
 * so a message named `Promise` or `AsyncIterable` used by an rpc breaks the generated file.
 *
 * `run()` is a pure function of the request: each call builds a fresh protoplugin instance,
 * because protoplugin's instances remember across runs that a previous request asked for js or
 * dts (state held in the closure of `createEcmaScriptPlugin`).
 *
 * `run()` throws an Error (runNodeJs prints it as `protoc-gen-ipc-es: <message>` and exits 1)
 * when the schema uses what protoipc does not support; see `resolveService` for the list.
 */
export const protocGenIpcEs: Plugin = {
  name: PLUGIN_NAME,
  version: PLUGIN_VERSION,
  run(request: CodeGeneratorRequest): CodeGeneratorResponse {
    return createPlugin().run(request);
  },
};

/** protoc-gen-ipc-es's own options. */
interface Options {
  /** `cel=delegate`: messages with custom CEL rules are validated by @bufbuild/protovalidate. */
  readonly cel: "fail" | "delegate";
}

function parseOptions(raw: { key: string; value: string }[]): Options {
  let cel: Options["cel"] = "fail";
  for (const { key, value } of raw) {
    if (key === "cel" && (value === "delegate" || value === "fail")) cel = value;
    else throw new Error(`unknown option ${key}=${value}; protoc-gen-ipc-es takes cel=delegate`);
  }
  return { cel };
}

function createPlugin(): Plugin {
  return createEcmaScriptPlugin({
    name: PLUGIN_NAME,
    version: PLUGIN_VERSION,
    parseOptions,
    generateTs,
  });
}

function generateTs(schema: Schema<Options>): void {
  let registry: Registry | undefined;
  for (const file of schema.files) {
    if (file.services.length === 0) {
      continue;
    }
    registry ??= createRegistry(...schema.allFiles);
    // Resolve (and so check) every service before printing anything of the file.
    const services = file.services.map((service) => resolveService(service, registry!));
    const roots = [
      ...new Map(
        file.services.flatMap((s) => s.methods.map((m) => [m.input.typeName, m.input])),
      ).values(),
    ];
    const plans = planValidators(roots, { cel: schema.options.cel });
    const validated = new Set([...plans.keys()].filter((n) => roots.some((r) => r.typeName === n)));
    const f = schema.generateFile(`${file.name}_ipc.ts`);
    f.preamble(file);
    emitValidators(f, plans, roots);
    for (const [i, service] of services.entries()) {
      if (i > 0) {
        f.print();
      }
      emitService(f, service, validated);
    }
  }
}
