import { join } from "node:path";
import {
  createContentLengthFramer,
  createStreamServerTransport,
  createStreamTransport,
} from "@protoipc/unix";
import { freePort, privateDir } from "./helpers.js";
import { runTransportSuite } from "./transport-suite.js";

runTransportSuite("native over a Unix socket", async () => {
  const tmp = privateDir();
  const endpoint = { path: join(tmp.dir, "server.sock") };
  return {
    server: createStreamServerTransport({ endpoint }),
    connect: () => createStreamTransport({ endpoint }),
    dispose: async () => tmp.remove(),
  };
});

runTransportSuite("native over TCP", async () => {
  const endpoint = { host: "127.0.0.1", port: await freePort() };
  return {
    server: createStreamServerTransport({ endpoint }),
    connect: () => createStreamTransport({ endpoint }),
  };
});

runTransportSuite(
  "jsonrpc2 over a Unix socket",
  async () => {
    const tmp = privateDir();
    const endpoint = { path: join(tmp.dir, "server.sock") };
    // The suite's limits are the native binding's 4 MiB.
    const framer = createContentLengthFramer({ maxFrameBytes: 4 * 1024 * 1024 });
    return {
      server: createStreamServerTransport({ endpoint, binding: "jsonrpc2", framer }),
      connect: () => createStreamTransport({ endpoint, binding: "jsonrpc2", framer }),
      dispose: async () => tmp.remove(),
    };
  },
  { metadata: false },
);
