export * from "./emit.js";
export * from "./plugin.js";
export * from "./schema-hash.js";
export * from "./service-model.js";
