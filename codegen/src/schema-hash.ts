import { createHash } from "node:crypto";
import { type DescEnum, type DescMessage, type DescService, toBinary } from "@bufbuild/protobuf";
import {
  DescriptorProtoSchema,
  EnumDescriptorProtoSchema,
  ServiceDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";

/**
 * Computes the schema hash of a service: the hex SHA-256 that generated code passes to
 * `defineService` as `schemaHash`, and that peers exchange in the native hello to detect that they
 * were built from different schemas.
 *
 * The algorithm, which every protoipc generator (this one, the Python one) implements the same way:
 *
 * 1. Collect the types: the service itself, and every message and enum reachable from `roots`
 *    (the rpcs' input, output and progress messages). A message reaches the message or enum type of
 *    each of its fields, singular, repeated and in oneofs, transitively. For a map field the
 *    synthetic map entry message is not collected itself (its DescriptorProto is nested in, and so
 *    hashed with, the declaring message); the map's value type, when a message or enum, is reached.
 *    Nested types are collected only when reached; extensions are never followed.
 * 2. Sort the types by full name (`pixels.v1.GenerateRequest`, no leading dot), comparing UTF-16
 *    code units (byte order for ASCII names).
 * 3. For each type, append `fullName + "\n" + base64(descriptor) + "\n"` to one string, where
 *    `descriptor` is the type's ServiceDescriptorProto, DescriptorProto or EnumDescriptorProto from
 *    the CodeGeneratorRequest, serialized in field-number order with unknown fields (custom
 *    options such as `protoipc.v1.method`) kept and written after the known fields, and base64 is
 *    the standard alphabet with padding (RFC 4648 section 4).
 * 4. The hash is the lowercase hex SHA-256 of that string's UTF-8 bytes.
 *
 * So the same schema gives the same hash, and a change of any reachable type (a field, a number, a
 * type, an option) gives a different one. Comments and unrelated types do not take part.
 */
export function computeSchemaHash(service: DescService, roots: Iterable<DescMessage>): string {
  const entries: { name: string; bytes: Uint8Array }[] = [
    { name: service.typeName, bytes: toBinary(ServiceDescriptorProtoSchema, service.proto) },
  ];
  for (const type of reachableTypes(roots)) {
    const bytes =
      type.kind === "message"
        ? toBinary(DescriptorProtoSchema, type.proto)
        : toBinary(EnumDescriptorProtoSchema, type.proto);
    entries.push({ name: type.typeName, bytes });
  }
  // Plain code-unit order, not localeCompare: the Python twin sorts the same way.
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash("sha256");
  for (const { name, bytes } of entries) {
    hash.update(`${name}\n${Buffer.from(bytes).toString("base64")}\n`, "utf8");
  }
  return hash.digest("hex");
}

/**
 * The messages and enums reachable from `roots` through fields (see {@link computeSchemaHash}),
 * including the roots, each once.
 */
export function reachableTypes(roots: Iterable<DescMessage>): (DescMessage | DescEnum)[] {
  const seen = new Map<string, DescMessage | DescEnum>();
  const queue: DescMessage[] = [];
  const visit = (type: DescMessage | DescEnum | undefined): void => {
    if (type === undefined || seen.has(type.typeName)) {
      return;
    }
    seen.set(type.typeName, type);
    if (type.kind === "message") {
      queue.push(type);
    }
  };
  for (const root of roots) {
    visit(root);
  }
  for (let message = queue.shift(); message !== undefined; message = queue.shift()) {
    for (const field of message.fields) {
      switch (field.fieldKind) {
        case "message":
          visit(field.message);
          break;
        case "enum":
          visit(field.enum);
          break;
        case "list":
          visit(field.listKind === "message" ? field.message : undefined);
          visit(field.listKind === "enum" ? field.enum : undefined);
          break;
        case "map":
          visit(field.mapKind === "message" ? field.message : undefined);
          visit(field.mapKind === "enum" ? field.enum : undefined);
          break;
        case "scalar":
          break;
      }
    }
  }
  return [...seen.values()];
}
