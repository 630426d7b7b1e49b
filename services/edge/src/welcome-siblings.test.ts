import { create } from "@bufbuild/protobuf";
import { Client, credentials, type ServiceError } from "@grpc/grpc-js";
import { ErrorCode } from "@onramp/errors";
import { AgentService, ConnectRequestSchema, grpcServiceDefinition, HelloSchema, RETRY_AFTER_METADATA, type ConnectRequest, type ConnectResponse, type Welcome } from "@onramp/proto";
import { silentLogger } from "@onramp/telemetry";
import { afterEach, describe, expect, it } from "vitest";
import { createEdge, type Edge } from "./edge.js";
import type { EdgeOptions } from "./options.js";

// `onramp edge --workers N`: each worker tells agents the agent ports of the others in its
// Welcome (`siblings`), read for every new session.

const TOKEN = "welcome-siblings-token";
const definition = grpcServiceDefinition(AgentService).connect!;
const started: Edge[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.close()));
});

async function startEdge(options: Partial<EdgeOptions> = {}): Promise<string> {
  const edge = createEdge({ httpAddr: "127.0.0.1:0", grpcAddr: "127.0.0.1:0", adminAddr: "", authtokens: [TOKEN], logger: silentLogger(), ...options });
  started.push(edge);
  return (await edge.start()).agent;
}

/** Says Hello on the agent port as an agent would, and returns the edge's Welcome. */
async function welcomeFrom(agentAddr: string): Promise<Welcome> {
  const client = new Client(agentAddr, credentials.createInsecure());
  const call = client.makeBidiStreamRequest<ConnectRequest, ConnectResponse>(definition.path, definition.requestSerialize, definition.responseDeserialize);
  try {
    const reply = new Promise<ConnectResponse>((resolve, reject) => {
      call.once("data", resolve);
      call.once("error", reject);
    });
    call.write(create(ConnectRequestSchema, { msg: { case: "hello", value: create(HelloSchema, { authtoken: TOKEN, agentId: "welcome-test" }) } }));
    const response = await reply;
    if (response.msg.case !== "welcome") throw new Error(`expected a welcome, got ${response.msg.case}`);
    return response.msg.value;
  } finally {
    call.on("error", () => undefined);
    call.cancel();
    client.close();
  }
}

describe("Welcome.siblings", () => {
  it("carries the edge's siblings() as each session starts", async () => {
    let siblings = ["127.0.0.1:4444", "127.0.0.1:4445"];
    const agentAddr = await startEdge({ siblings: () => siblings });
    expect((await welcomeFrom(agentAddr)).siblings).toEqual(["127.0.0.1:4444", "127.0.0.1:4445"]);
    siblings = ["127.0.0.1:4444"];
    expect((await welcomeFrom(agentAddr)).siblings).toEqual(["127.0.0.1:4444"]);
  });

  it("asks agents to come back in 500 ms while the workers are still starting (siblings() undefined)", async () => {
    let siblings: string[] | undefined;
    const agentAddr = await startEdge({ siblings: () => siblings });
    const refused = await welcomeFrom(agentAddr).then(
      () => undefined,
      (err: ServiceError) => err,
    );
    expect(refused?.message).toMatch(/EDGE_DRAINING|starting its workers/);
    expect(refused?.metadata.get(RETRY_AFTER_METADATA)).toEqual(["500"]);
    siblings = ["127.0.0.1:4444"];
    expect((await welcomeFrom(agentAddr)).siblings).toEqual(["127.0.0.1:4444"]);
  });

  it("is empty for an edge of one process", async () => {
    const welcome = await welcomeFrom(await startEdge());
    expect(welcome.siblings).toEqual([]);
  });

  it("rejects a siblings option that is not a function, naming it", () => {
    const siblings = ["127.0.0.1:4444"] as unknown as () => string[];
    expect(() => createEdge({ authtokens: [TOKEN], siblings })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining("siblings") }));
  });
});
