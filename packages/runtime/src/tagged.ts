/**
 * `@protoipc/runtime/tagged`: the tagged binding (discriminated MessagePack or JSON maps, as
 * dgx-pixels speaks them), its codec and its call mapping. A subpath of its own so programs on the
 * native binding do not load a MessagePack library.
 */
export * from "./tagged-binding.js";
export * from "./tagged-codec.js";
