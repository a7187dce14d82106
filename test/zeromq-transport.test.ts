import { createZmqServerTransport, createZmqTransport } from "@protoipc/zeromq";
import { freePort, privateDir } from "./helpers.js";
import { runTransportSuite } from "./transport-suite.js";

runTransportSuite("ZeroMQ ipc://", async () => {
  const tmp = privateDir();
  const address = `ipc://${tmp.dir}/server.sock`;
  return {
    server: createZmqServerTransport({ bind: address }),
    connect: () => createZmqTransport({ address }),
    dispose: async () => tmp.remove(),
  };
});

runTransportSuite("ZeroMQ tcp://", async () => {
  const address = `tcp://127.0.0.1:${await freePort()}`;
  return {
    server: createZmqServerTransport({ bind: address }),
    connect: () => createZmqTransport({ address }),
  };
});
