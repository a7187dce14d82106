import {
  create,
  createFileRegistry,
  maximumEdition,
  minimumEdition,
  protoInt64,
} from "@bufbuild/protobuf";
import {
  type CodeGeneratorRequest,
  type CodeGeneratorResponse,
  CodeGeneratorResponse_Feature,
  type CodeGeneratorResponse_File,
  CodeGeneratorResponse_FileSchema,
  CodeGeneratorResponseSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import type { Plugin } from "@bufbuild/protoplugin";
import { emitPyFile, type PythonOutput } from "./python-emit.js";
import { type PythonFileModel, resolvePythonFile } from "./python-model.js";
import { createPythonPrinter } from "./python-printer.js";
import { CEL_DELEGATE_OPTION } from "./validate-model.js";

/** The plugin's name, as buf and protoc call it and as generated preambles print it. */
export const PYTHON_PLUGIN_NAME = "protoc-gen-ipc-python";

/** The plugin's version, printed in generated preambles; follows the package version. */
export const PYTHON_PLUGIN_VERSION = "v0.1.0";

/**
 * The `protoc-gen-ipc-python` plugin: for each .proto file to generate that has services, writes
 * `<name>_ipc.py` and its stub `<name>_ipc.pyi` next to protoc's `<name>_pb2.py`, holding per
 * service the method descriptor constants, the `protoipc.ServiceDescriptor` (with the same schema
 * hash as protoc-gen-ipc-es), a `<Service>Handler` base class and a `<Service>Client` for the
 * Python runtime `protoipc` (python/API.md, "Generated code shape"). Files without services
 * produce nothing. Message classes are referenced through protoc's `_pb2` modules, imported
 * absolutely (`from pixels.v1 import pixels_pb2`).
 *
 * One option, `cel=delegate`: messages with custom CEL rules (`buf.validate` `cel`) are validated
 * by the Python `protovalidate` package at run time (without it such rules fail generation,
 * naming the field). `run()` is a pure function of the request.
 *
 * @throws Error (runNodeJs prints `protoc-gen-ipc-python: <message>` and exits 1) when a
 *   parameter other than `cel=delegate` is given, or the schema uses what protoipc or Python cannot express; see
 *   `resolveService` and `resolvePythonFile` for the list.
 */
export const protocGenIpcPython: Plugin = {
  name: PYTHON_PLUGIN_NAME,
  version: PYTHON_PLUGIN_VERSION,
  run(request: CodeGeneratorRequest): CodeGeneratorResponse {
    let cel: "fail" | "delegate" = "fail";
    for (const option of request.parameter === "" ? [] : request.parameter.split(",")) {
      if (option === CEL_DELEGATE_OPTION) cel = "delegate";
      else {
        throw new Error(
          `${PYTHON_PLUGIN_NAME} takes only the option ${CEL_DELEGATE_OPTION}, got "${option}"`,
        );
      }
    }
    const registry = createFileRegistry(
      create(FileDescriptorSetSchema, { file: request.protoFile }),
    );
    const models: PythonFileModel[] = [];
    for (const name of request.fileToGenerate) {
      const file = registry.getFile(name);
      if (file === undefined) {
        throw new Error(`file_to_generate names ${name}, which the request does not contain`);
      }
      if (file.services.length > 0) {
        // Resolve (and so check) every file before printing anything.
        models.push(resolvePythonFile(file, registry, { cel }));
      }
    }
    return create(CodeGeneratorResponseSchema, {
      supportedFeatures: protoInt64.parse(
        CodeGeneratorResponse_Feature.PROTO3_OPTIONAL |
          CodeGeneratorResponse_Feature.SUPPORTS_EDITIONS,
      ),
      minimumEdition,
      maximumEdition,
      file: models.flatMap((m) => [generateFile(m, "py"), generateFile(m, "pyi")]),
    });
  },
};

function generateFile(model: PythonFileModel, out: PythonOutput): CodeGeneratorResponse_File {
  const f = createPythonPrinter();
  emitPyFile(f, model, out, `${PYTHON_PLUGIN_NAME} ${PYTHON_PLUGIN_VERSION}`);
  return create(CodeGeneratorResponse_FileSchema, {
    name: `${model.file.name}_ipc.${out}`,
    content: f.content(),
  });
}
