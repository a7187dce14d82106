import { createInMemoryTransport } from "@protoipc/runtime";
import { runTransportSuite } from "./transport-suite.js";

runTransportSuite("the in-memory transport", async () => {
  const mem = createInMemoryTransport();
  return { server: mem.server, connect: () => mem.connect() };
});
