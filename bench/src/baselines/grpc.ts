/**
 * The grpc-js baseline: the same EchoService over `@grpc/grpc-js` unary calls on a Unix socket.
 * The service definition is written by hand (no proto-loader) and encodes the same EchoRequest /
 * EchoResponse messages with protobuf-es `toBinary` / `fromBinary`, so both sides of the
 * comparison do the same message encoding work.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  Client,
  credentials,
  type MethodDefinition,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import {
  type EchoRequest,
  EchoRequestSchema,
  type EchoResponse,
  EchoResponseSchema,
} from "../gen/bench/v1/echo_pb.js";

/** `bench.v1.EchoService/Echo` as a grpc-js method definition. */
const echoMethod: MethodDefinition<EchoRequest, EchoResponse> = {
  path: "/bench.v1.EchoService/Echo",
  requestStream: false,
  responseStream: false,
  requestSerialize: (message) => Buffer.from(toBinary(EchoRequestSchema, message)),
  requestDeserialize: (bytes) => fromBinary(EchoRequestSchema, bytes),
  responseSerialize: (message) => Buffer.from(toBinary(EchoResponseSchema, message)),
  responseDeserialize: (bytes) => fromBinary(EchoResponseSchema, bytes),
};

/** The grpc-js service definition of `bench.v1.EchoService` (its unary method only). */
export const grpcEchoServiceDefinition = { echo: echoMethod };

/**
 * Channel options of both sides. Retries are off because neither the echo method nor protoipc
 * retries it, so grpc-js does not buffer every request for a possible retry.
 */
const channelOptions = { "grpc.enable_retries": 0 };

/** The grpc-js baseline's client. */
export interface GrpcEchoClient {
  /** Calls Echo with `payload`; resolves with the echoed bytes. */
  echo(payload: Uint8Array): Promise<Uint8Array>;
  /** Closes the channel. */
  close(): Promise<void>;
}

/**
 * Creates a grpc-js client of the echo service at `socketPath` (an absolute path; the channel
 * target is `unix://<path>`). The caller closes it.
 */
export function createGrpcEchoClient(socketPath: string): GrpcEchoClient {
  const client = new Client(`unix://${socketPath}`, credentials.createInsecure(), channelOptions);
  return {
    echo(payload) {
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          echoMethod.path,
          echoMethod.requestSerialize,
          echoMethod.responseDeserialize,
          create(EchoRequestSchema, { payload }),
          (error, response) => {
            if (error) reject(error);
            else resolve(response!.payload);
          },
        );
      });
    },
    async close() {
      client.close();
    },
  };
}

/** A running grpc-js echo server; see {@link serveGrpcEcho}. */
export interface GrpcEchoServer {
  /** Stops the server at once (cancelling calls in flight). */
  close(): Promise<void>;
}

/** Serves the echo service with grpc-js on the Unix socket `socketPath`; resolves once bound. */
export async function serveGrpcEcho(socketPath: string): Promise<GrpcEchoServer> {
  const server = new Server(channelOptions);
  server.addService(grpcEchoServiceDefinition, {
    echo(call: ServerUnaryCall<EchoRequest, EchoResponse>, callback: sendUnaryData<EchoResponse>) {
      callback(null, create(EchoResponseSchema, { payload: call.request.payload }));
    },
  });
  await new Promise<number>((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (error, port) => {
      if (error) reject(error);
      else resolve(port);
    });
  });
  return {
    async close() {
      server.forceShutdown();
    },
  };
}
