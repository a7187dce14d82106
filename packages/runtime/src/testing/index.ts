export * from "./reference-envelope.js";
export * from "./test-service.js";
