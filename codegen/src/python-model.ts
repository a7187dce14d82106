import type { DescFile, DescMessage, Registry } from "@bufbuild/protobuf";
import {
  PYTHON_KEYWORDS,
  pythonClassPath,
  pythonMethodName,
  pythonModuleAlias,
  pythonModuleOf,
  upperSnakeCase,
} from "./python-names.js";
import { type MethodModel, resolveService, type ServiceModel } from "./service-model.js";
import { type MessagePlan, type PlanOptions, planValidators } from "./validate-model.js";

/** One rpc with the Python names the emitters print. */
export interface PythonMethodModel {
  /** The language-neutral model (kind, progress, idempotency, options). */
  readonly model: MethodModel;
  /** Handler and client method name, the descriptor's `local_name`: `list_models`. */
  readonly localName: string;
  /** The module-level descriptor constant: `PIXEL_SERVICE_LIST_MODELS`. */
  readonly constant: string;
  /** What the native binding sends: `/pixels.v1.PixelService/ListModels`. */
  readonly path: string;
}

/** One service with the Python names the emitters print. */
export interface PythonServiceModel {
  /** The language-neutral model (binding, timeouts, schema hash). */
  readonly model: ServiceModel;
  /** The module-level service descriptor constant: `PIXEL_SERVICE`. */
  readonly constant: string;
  /** The handler base class: `PixelServiceHandler`. */
  readonly handler: string;
  /** The client class: `PixelServiceClient`. */
  readonly client: string;
  /** The methods, in declaration order. */
  readonly methods: readonly PythonMethodModel[];
}

/** One `import` of a message module. */
export interface PythonImport {
  /** The absolute module: `pixels.v1.pixels_pb2`. */
  readonly module: string;
  /** The name the module is bound to in the generated file: `pixels_pb2`, or protoc's alias. */
  readonly binding: string;
}

/** Everything printed for one .proto file: its services and the modules their messages live in. */
export interface PythonFileModel {
  /** The .proto file. */
  readonly file: DescFile;
  /** The services, in declaration order. */
  readonly services: readonly PythonServiceModel[];
  /** The message modules to import, sorted by module. */
  readonly imports: readonly PythonImport[];
  /** Whether any rpc is server streaming (the file then needs `AsyncIterator`). */
  readonly usesAsyncIterator: boolean;
  /**
   * The Python expression for a message class: `pixels_pb2.GenerateRequest`,
   * `pixels_pb2.Outer.Inner`, `empty_pb2.Empty`.
   */
  messageRef(message: DescMessage): string;
  /** The validator plans of the request types and the messages they reach (validate-model.ts). */
  readonly plans: ReadonlyMap<string, MessagePlan>;
  /** The request types with a validator, in first-use order. */
  readonly validatedInputs: readonly DescMessage[];
}

/** Names the generated files import besides the message modules. */
const FIXED_NAMES = ["AsyncIterator", "ClassVar", "Mapping", "Sequence", "protoipc", "_validate"];

/**
 * Resolves the services of `file` (options checked by {@link resolveService}) and names everything
 * the Python emitters print: method names, constants, classes and message module imports.
 *
 * A message module is imported under its last component (`from pixels.v1 import pixels_pb2`);
 * when two modules share it, each of those is bound to protoc's alias instead
 * (`from a.v1 import common_pb2 as a_dot_v1_dot_common__pb2`).
 *
 * @throws Error for what {@link resolveService} rejects; when two rpcs of a service map to the same
 *   Python method name; when two generated module-level names collide (`Foo.BarBaz` and
 *   `FooBar.Baz` both give `FOO_BAR_BAZ`); when a message module's path is not importable (a keyword or a non-identifier as a
 *   directory name); or when a message name is a Python keyword.
 */
export function resolvePythonFile(
  file: DescFile,
  registry: Registry,
  options: PlanOptions = {},
): PythonFileModel {
  const services = file.services.map((s) => resolvePythonService(resolveService(s, registry)));
  const messages: DescMessage[] = [];
  for (const service of services) {
    for (const { model } of service.methods) {
      messages.push(model.desc.input, model.desc.output);
      if (model.progress !== undefined) {
        messages.push(model.progress);
      }
    }
  }
  const roots = [
    ...new Map(
      services.flatMap((s) =>
        s.methods.map((m) => [m.model.desc.input.typeName, m.model.desc.input]),
      ),
    ).values(),
  ];
  const plans = planValidators(roots, options);
  const validatedInputs = roots.filter((r) => plans.has(r.typeName));
  for (const plan of plans.values()) messages.push(plan.desc);
  const imports = resolveImports(messages);
  const bindings = new Map(imports.map((i) => [i.module, i.binding]));
  const messageRef = (message: DescMessage): string => {
    const binding = bindings.get(pythonModuleOf(message.file));
    if (binding === undefined) {
      throw new Error(`${message} is not imported by the generated code of ${file.proto.name}`);
    }
    return `${binding}.${pythonClassPath(message)}`;
  };
  for (const message of messages) {
    messageRef(message); // Fail early on keyword class names.
  }
  assertUniqueModuleNames(file, services, imports);
  return {
    file,
    services,
    imports,
    usesAsyncIterator: services.some((s) =>
      s.methods.some((m) => m.model.kind === "server_streaming"),
    ),
    messageRef,
    plans,
    validatedInputs,
  };
}

/** Adds the Python names to a resolved service. See {@link resolvePythonFile} for the errors. */
export function resolvePythonService(model: ServiceModel): PythonServiceModel {
  const service = model.desc;
  const constant = upperSnakeCase(service.name);
  const byLocalName = new Map<string, string>();
  const methods = model.methods.map((m): PythonMethodModel => {
    const localName = pythonMethodName(m.desc.name);
    const other = byLocalName.get(localName);
    if (other !== undefined) {
      throw new Error(
        `rpc ${service.typeName}.${other} and rpc ${service.typeName}.${m.desc.name} both map to the Python method name ${localName}`,
      );
    }
    byLocalName.set(localName, m.desc.name);
    return {
      model: m,
      localName,
      constant: `${constant}_${upperSnakeCase(m.desc.name)}`,
      path: `/${service.typeName}/${m.desc.name}`,
    };
  });
  return {
    model,
    constant,
    handler: `${service.name}Handler`,
    client: `${service.name}Client`,
    methods,
  };
}

function resolveImports(messages: readonly DescMessage[]): PythonImport[] {
  const modules = [...new Set(messages.map((m) => pythonModuleOf(m.file)))].sort();
  const lastOf = (module: string) => module.substring(module.lastIndexOf(".") + 1);
  const count = new Map<string, number>();
  for (const module of modules) {
    assertImportable(module);
    count.set(lastOf(module), (count.get(lastOf(module)) ?? 0) + 1);
  }
  return modules.map((module) => ({
    module,
    binding: count.get(lastOf(module)) === 1 ? lastOf(module) : pythonModuleAlias(module),
  }));
}

function assertImportable(module: string): void {
  for (const part of module.split(".")) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(part) || PYTHON_KEYWORDS.has(part)) {
      throw new Error(
        `module ${module} cannot be imported in Python: "${part}" is not a valid identifier; rename the .proto file or its directory`,
      );
    }
  }
}

function assertUniqueModuleNames(
  file: DescFile,
  services: readonly PythonServiceModel[],
  imports: readonly PythonImport[],
): void {
  const owners = new Map<string, string>();
  const claim = (name: string, owner: string) => {
    const other = owners.get(name);
    if (other !== undefined) {
      throw new Error(
        `${owner} and ${other} both map to the Python name ${name} in the generated code of ${file.proto.name}`,
      );
    }
    owners.set(name, owner);
  };
  for (const name of FIXED_NAMES) {
    claim(name, `the import of ${name}`);
  }
  for (const i of imports) {
    claim(i.binding, `the import of ${i.module}`);
  }
  for (const service of services) {
    const desc = service.model.desc;
    claim(service.constant, `the descriptor of service ${desc.typeName}`);
    claim(service.handler, `the handler of service ${desc.typeName}`);
    claim(service.client, `the client of service ${desc.typeName}`);
    for (const method of service.methods) {
      claim(method.constant, `the descriptor of rpc ${desc.typeName}.${method.model.desc.name}`);
    }
  }
}
