export * from "./descriptor.js";
export * from "./error.js";
export * from "./call.js";
export * from "./frame-channel.js";
