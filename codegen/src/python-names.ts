import type { DescFile, DescMessage } from "@bufbuild/protobuf";

/**
 * Python's hard keywords (`keyword.kwlist` of Python 3.11). Soft keywords (`match`, `case`, `type`,
 * `_`) are valid identifiers and need no escape as keywords.
 */
export const PYTHON_KEYWORDS: ReadonlySet<string> = new Set([
  "False",
  "None",
  "True",
  "and",
  "as",
  "assert",
  "async",
  "await",
  "break",
  "class",
  "continue",
  "def",
  "del",
  "elif",
  "else",
  "except",
  "finally",
  "for",
  "from",
  "global",
  "if",
  "import",
  "in",
  "is",
  "lambda",
  "nonlocal",
  "not",
  "or",
  "pass",
  "raise",
  "return",
  "try",
  "while",
  "with",
  "yield",
]);

/**
 * The lowercase names of Python 3.11's `builtins` module. A method of that name would shadow the
 * builtin inside the class body, where type checkers resolve the annotations of the methods that
 * follow (`timeout_ms: float | None` after a method named `float`).
 */
export const PYTHON_BUILTINS: ReadonlySet<string> = new Set([
  "abs",
  "aiter",
  "all",
  "anext",
  "any",
  "ascii",
  "bin",
  "bool",
  "breakpoint",
  "bytearray",
  "bytes",
  "callable",
  "chr",
  "classmethod",
  "compile",
  "complex",
  "copyright",
  "credits",
  "delattr",
  "dict",
  "dir",
  "divmod",
  "enumerate",
  "eval",
  "exec",
  "exit",
  "filter",
  "float",
  "format",
  "frozenset",
  "getattr",
  "globals",
  "hasattr",
  "hash",
  "help",
  "hex",
  "id",
  "input",
  "int",
  "isinstance",
  "issubclass",
  "iter",
  "len",
  "license",
  "list",
  "locals",
  "map",
  "max",
  "memoryview",
  "min",
  "next",
  "object",
  "oct",
  "open",
  "ord",
  "pow",
  "print",
  "property",
  "quit",
  "range",
  "repr",
  "reversed",
  "round",
  "set",
  "setattr",
  "slice",
  "sorted",
  "staticmethod",
  "str",
  "sum",
  "super",
  "tuple",
  "type",
  "vars",
  "zip",
]);

/**
 * Method names the generated classes cannot use as they are: the public members of the runtime's
 * base classes (`service` of `protoipc.ServiceHandler` and `protoipc.Client`, `transport` and
 * `max_buffered_updates` of `protoipc.Client`), and `protoipc`, the module the annotations refer
 * to.
 */
const RESERVED_METHOD_NAMES: ReadonlySet<string> = new Set([
  "max_buffered_updates",
  "protoipc",
  "service",
  "transport",
]);

/**
 * Converts a protobuf identifier to snake_case: an underscore goes before an upper-case letter that
 * follows a lower-case letter or digit, or that starts a word after an acronym; then everything is
 * lower-cased. `ListModels` → `list_models`, `GetHTTPStatus` → `get_http_status`, `V2Call` →
 * `v2_call`; a name already in snake_case is kept.
 */
export function snakeCase(name: string): string {
  let out = "";
  for (let i = 0; i < name.length; i++) {
    const c = name.charAt(i);
    const prev = name.charAt(i - 1);
    const next = name.charAt(i + 1);
    if (
      isUpper(c) &&
      i > 0 &&
      prev !== "_" &&
      (isLower(prev) || isDigit(prev) || (isUpper(prev) && isLower(next)))
    ) {
      out += "_";
    }
    out += c.toLowerCase();
  }
  return out;
}

/** {@link snakeCase} upper-cased, for constants: `PixelService` → `PIXEL_SERVICE`. */
export function upperSnakeCase(name: string): string {
  return snakeCase(name).toUpperCase();
}

/**
 * The Python method name of an rpc on the generated handler and client (the descriptor's
 * `local_name`): the rpc name in snake_case, with a trailing underscore when that is a keyword, a
 * builtin, a name the generated classes reserve (`service`, `transport`, `max_buffered_updates`,
 * `protoipc`), ends in `_pb2` (the imported message modules) or starts with an underscore (the
 * private members of `protoipc.Client`, such as `_unary`, and dunder methods). `Delete` → `delete`, `Import` →
 * `import_`, `Type` → `type_`.
 */
export function pythonMethodName(rpcName: string): string {
  const name = snakeCase(rpcName);
  if (
    PYTHON_KEYWORDS.has(name) ||
    PYTHON_BUILTINS.has(name) ||
    RESERVED_METHOD_NAMES.has(name) ||
    name.endsWith("_pb2") ||
    name.startsWith("_")
  ) {
    return `${name}_`;
  }
  return name;
}

/**
 * The module protoc's Python generator writes for a .proto file, as an absolute dotted path: the
 * file name without `.proto`, `-` replaced by `_`, `/` by `.`, plus `_pb2`.
 * `pixels/v1/pixels.proto` → `pixels.v1.pixels_pb2`, `google/protobuf/empty.proto` →
 * `google.protobuf.empty_pb2`.
 */
export function pythonModuleOf(file: DescFile): string {
  const base = file.proto.name.replace(/\.proto(devel)?$/, "");
  return `${base.replaceAll("-", "_").replaceAll("/", ".")}_pb2`;
}

/**
 * The name protoc's Python generator binds an imported module to (`ModuleAlias`): `_` doubled,
 * `.` → `_dot_`. `a.v1.common_pb2` → `a_dot_v1_dot_common__pb2`. Used when two imported modules
 * share their last component.
 */
export function pythonModuleAlias(module: string): string {
  return module.replaceAll("_", "__").replaceAll(".", "_dot_");
}

/**
 * The path of a message class inside its module: `Outer.Inner` for `pkg.Outer.Inner`.
 *
 * @throws Error when a name on the path is a Python keyword: protoc defines such classes, but
 *   they cannot be written as attributes (`pixels_pb2.None`).
 */
export function pythonClassPath(message: DescMessage): string {
  const names: string[] = [];
  for (let m: DescMessage | undefined = message; m !== undefined; m = m.parent) {
    if (PYTHON_KEYWORDS.has(m.name)) {
      throw new Error(
        `${message} cannot be referenced from Python: ${m.name} is a Python keyword; rename the message`,
      );
    }
    names.unshift(m.name);
  }
  return names.join(".");
}

/**
 * A Python string literal for `value`, double-quoted. JSON's escapes (`\"`, `\\`, `\n`,
 * `\uXXXX`) mean the same in Python.
 */
export function pythonString(value: string): string {
  return JSON.stringify(value);
}

function isUpper(c: string): boolean {
  return c >= "A" && c <= "Z";
}

function isLower(c: string): boolean {
  return c >= "a" && c <= "z";
}

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}
