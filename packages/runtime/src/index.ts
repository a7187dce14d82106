export * from "./call.js";
export * from "./client.js";
export * from "./descriptor.js";
export * from "./error.js";
export * from "./frame-channel.js";
export {
  type FieldPath,
  type FieldPathElement,
  FieldPathElementSchema,
  FieldPathSchema,
  type Violation,
  ViolationSchema,
  type Violations,
  ViolationsSchema,
} from "./gen/buf/validate/validate_pb.js";
export * as protoipcOptions from "./gen/protoipc/v1/options_pb.js";
export * as routerSchema from "./gen/protoipc/v1/router_pb.js";
export * from "./in-memory.js";
export * from "./jsonrpc2-binding.js";
export * from "./native-binding.js";
export * from "./server.js";
export * from "./validate.js";
