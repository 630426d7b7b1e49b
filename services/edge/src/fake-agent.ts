import { decodeRequestHead, encodeResponseHead, MuxConnection, type MuxStream } from "@onramp/mux";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";

/** How a fake agent answers a stream: reply, or reset it. */
export type FakeAgentBehaviour = (stream: MuxStream, head: Buffer) => void;

/** Answers 200 with `x-bind: <bind id>` and `hello <path>`. */
export const answerOk: FakeAgentBehaviour = (stream, head) => {
  const req = decodeRequestHead(head);
  stream.sendHead(encodeResponseHead({ status: 200, statusText: "OK", headers: ["x-bind", req.bindId], body: Buffer.from(`hello ${req.path}`) }), true);
};

/**
 * For tests of the edge's data path without an agent process: a real mux connection pair on
 * loopback, the edge's side returned, the agent's side answering with `behaviour`. `close()`
 * tears both down.
 */
export async function fakeAgentConnection(behaviour: FakeAgentBehaviour = answerOk): Promise<{ connection: MuxConnection; close: () => void }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const accepted = new Promise<Socket>((r) => server.once("connection", r));
  const agentSocket = connect((server.address() as AddressInfo).port, "127.0.0.1");
  const connection = new MuxConnection(await accepted, true);
  const agentSide = new MuxConnection(agentSocket, false);
  agentSide.events.onStream = (stream, head) => behaviour(stream, head);
  return {
    connection,
    close: () => {
      connection.destroy(undefined);
      agentSide.destroy(undefined);
      server.close();
    },
  };
}
