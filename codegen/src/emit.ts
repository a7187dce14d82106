import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { type GeneratedFile, getComments, safeIdentifier } from "@bufbuild/protoplugin";
import type { MethodModel, ServiceModel } from "./service-model.js";
import { validatorName } from "./validate-emit.js";

/** The package generated code imports the protoipc runtime from. */
export const RUNTIME_PACKAGE = "@protoipc/runtime";

/** Names of the three declarations generated for a service. */
export interface ServiceNames {
  /** The descriptor constant, e.g. `PixelService`. */
  readonly descriptor: string;
  /** The client interface, e.g. `PixelServiceClient`. */
  readonly client: string;
  /** The handler interface, e.g. `PixelServiceHandler`. */
  readonly handler: string;
}

/** The names of the declarations generated for `service`. */
export function serviceNames(service: DescService): ServiceNames {
  return {
    descriptor: safeIdentifier(service.name),
    client: `${service.name}Client`,
    handler: `${service.name}Handler`,
  };
}

/**
 * Prints everything generated for one service: the client interface, the handler interface and
 * the service descriptor, separated by blank lines.
 */
export function emitService(
  f: GeneratedFile,
  service: ServiceModel,
  validated: ReadonlySet<string> = new Set(),
): void {
  emitClientInterface(f, service);
  f.print();
  emitHandlerInterface(f, service);
  f.print();
  emitServiceDescriptor(f, service, validated);
}

/**
 * Prints the client interface: one method per rpc, taking a request init shape and
 * `CallOptions`; unary methods return a promise of the response, server-streaming ones an async
 * iterable of responses, progress ones a `ProgressCall`.
 */
export function emitClientInterface(f: GeneratedFile, service: ServiceModel): void {
  const names = serviceNames(service.desc);
  f.print(
    f.jsDoc(
      docText(
        service.desc,
        `The client of ${service.desc.typeName}: what \`createClient(${names.descriptor}, transport)\` returns.`,
      ),
    ),
  );
  f.print(f.export("interface", names.client), " {");
  for (const [i, method] of service.methods.entries()) {
    if (i > 0) {
      f.print();
    }
    emitClientMethod(f, method);
  }
  f.print("}");
}

/** Prints one method signature of the client interface, with its doc comment. */
export function emitClientMethod(f: GeneratedFile, method: MethodModel): void {
  const { desc } = method;
  const MessageInitShape = f.import("MessageInitShape", "@bufbuild/protobuf", true);
  const CallOptions = f.import("CallOptions", RUNTIME_PACKAGE, true);
  const inputSchema = f.importSchema(desc.input, true);
  const output = f.importShape(desc.output);
  f.print(f.jsDoc(docText(desc), "  "));
  switch (method.kind) {
    case "unary":
      f.print`  ${method.localName}(request?: ${MessageInitShape}<typeof ${inputSchema}>, options?: ${CallOptions}): Promise<${output}>;`;
      break;
    case "server_streaming":
      f.print`  ${method.localName}(request?: ${MessageInitShape}<typeof ${inputSchema}>, options?: ${CallOptions}): AsyncIterable<${output}>;`;
      break;
    case "progress": {
      const ProgressCall = f.import("ProgressCall", RUNTIME_PACKAGE, true);
      const progress = f.importShape(progressOf(method));
      f.print`  ${method.localName}(request?: ${MessageInitShape}<typeof ${inputSchema}>, options?: ${CallOptions}): ${ProgressCall}<${progress}, ${output}>;`;
      break;
    }
  }
}

/**
 * Prints the handler interface: one method per rpc, taking the decoded request and a context;
 * unary and progress handlers return (a promise of) a response init shape, server-streaming ones
 * an async iterable of response init shapes.
 */
export function emitHandlerInterface(f: GeneratedFile, service: ServiceModel): void {
  const names = serviceNames(service.desc);
  f.print(
    f.jsDoc(
      docText(
        service.desc,
        `The handler of ${service.desc.typeName}: what \`server.register(${names.descriptor}, handler)\` expects.`,
      ),
    ),
  );
  f.print(f.export("interface", names.handler), " {");
  for (const [i, method] of service.methods.entries()) {
    if (i > 0) {
      f.print();
    }
    emitHandlerMethod(f, method);
  }
  f.print("}");
}

/** Prints one method signature of the handler interface, with its doc comment. */
export function emitHandlerMethod(f: GeneratedFile, method: MethodModel): void {
  const { desc } = method;
  const MessageInitShape = f.import("MessageInitShape", "@bufbuild/protobuf", true);
  const input = f.importShape(desc.input);
  const outputSchema = f.importSchema(desc.output, true);
  f.print(f.jsDoc(docText(desc), "  "));
  switch (method.kind) {
    case "unary": {
      const HandlerContext = f.import("HandlerContext", RUNTIME_PACKAGE, true);
      f.print`  ${method.localName}(request: ${input}, context: ${HandlerContext}): Promise<${MessageInitShape}<typeof ${outputSchema}>> | ${MessageInitShape}<typeof ${outputSchema}>;`;
      break;
    }
    case "server_streaming": {
      const HandlerContext = f.import("HandlerContext", RUNTIME_PACKAGE, true);
      f.print`  ${method.localName}(request: ${input}, context: ${HandlerContext}): AsyncIterable<${MessageInitShape}<typeof ${outputSchema}>>;`;
      break;
    }
    case "progress": {
      const ProgressContext = f.import("ProgressContext", RUNTIME_PACKAGE, true);
      const progressSchema = f.importSchema(progressOf(method), true);
      f.print`  ${method.localName}(request: ${input}, context: ${ProgressContext}<typeof ${progressSchema}>): Promise<${MessageInitShape}<typeof ${outputSchema}>> | ${MessageInitShape}<typeof ${outputSchema}>;`;
      break;
    }
  }
}

/**
 * Prints the service descriptor: `defineService<Client, Handler>({ ... })` with the service's
 * options, schema hash and one entry per method. Optional settings (`defaultTimeoutMs`,
 * `wireName`, `timeoutMs`) are printed only when the schema sets them, so the runtime's defaults
 * apply otherwise.
 */
export function emitServiceDescriptor(
  f: GeneratedFile,
  service: ServiceModel,
  validated: ReadonlySet<string> = new Set(),
): void {
  const names = serviceNames(service.desc);
  const defineService = f.import("defineService", RUNTIME_PACKAGE);
  f.print(
    f.jsDoc(
      docText(
        service.desc,
        `The descriptor of ${service.desc.typeName}: pass it to \`createClient\` and \`server.register\`.`,
      ),
    ),
  );
  f.print(
    f.export("const", names.descriptor),
    ` = `,
    defineService,
    `<${names.client}, ${names.handler}>({`,
  );
  f.print("  typeName: ", f.string(service.desc.typeName), ",");
  f.print("  binding: ", f.string(service.binding), ",");
  if (service.defaultTimeoutMs !== undefined) {
    f.print("  defaultTimeoutMs: ", service.defaultTimeoutMs, ",");
  }
  if (service.wireName !== undefined) {
    f.print("  wireName: ", f.string(service.wireName), ",");
  }
  f.print("  schemaHash: ", f.string(service.schemaHash), ",");
  f.print("  methods: {");
  for (const method of service.methods) {
    emitMethodEntry(f, method, validated);
  }
  f.print("  },");
  f.print("});");
}

/** Prints one entry of the descriptor's `methods` map, keyed by local name. */
export function emitMethodEntry(
  f: GeneratedFile,
  method: MethodModel,
  validated: ReadonlySet<string> = new Set(),
): void {
  const { desc } = method;
  f.print("    ", method.localName, ": {");
  f.print("      name: ", f.string(desc.name), ",");
  f.print("      kind: ", f.string(method.kind), ",");
  f.print("      input: ", f.importSchema(desc.input), ",");
  f.print("      output: ", f.importSchema(desc.output), ",");
  if (method.progress === undefined) {
    f.print("      progress: undefined,");
  } else {
    f.print("      progress: ", f.importSchema(method.progress), ",");
  }
  f.print("      idempotency: ", f.string(method.idempotency), ",");
  if (method.timeoutMs !== undefined) {
    f.print("      timeoutMs: ", method.timeoutMs, ",");
  }
  if (method.wireName !== undefined) {
    f.print("      wireName: ", f.string(method.wireName), ",");
  }
  if (validated.has(desc.input.typeName)) {
    f.print("      validateInput: ", validatorName(desc.input), ",");
  }
  if (method.notification) {
    f.print("      notification: true,");
  }
  f.print("    },");
}

function progressOf(method: MethodModel) {
  if (method.progress === undefined) {
    throw new Error(`${method.desc} has kind progress but no progress message`);
  }
  return method.progress;
}

/**
 * The text of a doc comment: the element's leading comment from the .proto (one leading space per
 * line removed), an optional extra paragraph, the `@generated from` tag and `@deprecated` when the
 * element is deprecated.
 */
function docText(desc: DescService | DescMethod, extra?: string): string {
  const paragraphs: string[] = [];
  const leading = getComments(desc).leading;
  if (leading !== undefined && leading.trim() !== "") {
    paragraphs.push(
      leading
        .replace(/\n$/, "")
        .split("\n")
        .map((line) => (line.startsWith(" ") ? line.substring(1) : line))
        .join("\n"),
    );
  }
  if (extra !== undefined) {
    paragraphs.push(extra);
  }
  let tags = `@generated from ${desc}`;
  if (desc.deprecated) {
    tags += "\n@deprecated";
  }
  paragraphs.push(tags);
  return paragraphs.join("\n\n");
}
