import {
  createRouter,
  createRouterClientTransport,
  createRouterServerTransport,
} from "@protoipc/router";
import { privateDir } from "./helpers.js";
import { runTransportSuite } from "./transport-suite.js";

// The call-semantics suite through the native router: deadlines, cancellation, progress, streams
// and errors pass through it unchanged.
runTransportSuite("the native router (tcp://)", async () => {
  const router = createRouter({ bind: "tcp://127.0.0.1:*", heartbeatIntervalMs: 500 });
  await router.start();
  const address = router.address as string;
  return {
    server: createRouterServerTransport({ address, heartbeatIntervalMs: 500 }),
    connect: () => createRouterClientTransport({ address, heartbeatIntervalMs: 500 }),
    dispose: () => router.close(),
  };
});

runTransportSuite("the native router (ipc://)", async () => {
  const tmp = privateDir();
  const router = createRouter({ bind: `ipc://${tmp.dir}/router.sock` });
  await router.start();
  const address = router.address as string;
  return {
    server: createRouterServerTransport({ address }),
    connect: () => createRouterClientTransport({ address }),
    dispose: async () => {
      await router.close();
      tmp.remove();
    },
  };
});
