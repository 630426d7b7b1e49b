import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { GenericContainer, Network, Wait, getContainerRuntimeClient, type StartedNetwork, type StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEtcd, type EtcdServer } from "../harness/etcd-server.js";
import { send } from "../harness/http-client.js";
import { startNatsServer, type NatsNode } from "../harness/nats-server.js";
import { freePorts } from "../harness/ports.js";
import { stopAll, startOnramp } from "../harness/processes.js";
import { startUpstream, type Upstream } from "../harness/upstream.js";
import { until } from "../harness/within.js";

// The container image (Dockerfile) as users run it, driven by testcontainers: an edge, an agent
// and a demo upstream in containers on a network this test makes; requests sent from the host to
// the edge container's address on that network (nothing is published). And the Terraform
// bootstrap, run for real in a Debian container with a release tarball made from the image.
// scripts/test.sh builds the images and sets ONRAMP_TEST_IMAGE (the Onramp image) and
// ONRAMP_TEST_BASE_IMAGE (Debian 12 with Node 20, what the bootstrap starts from).
const image = process.env.ONRAMP_TEST_IMAGE;
const baseImage = process.env.ONRAMP_TEST_BASE_IMAGE;
process.env.TESTCONTAINERS_RYUK_DISABLED = "true"; // its reaper image cannot be pulled here; every container is stopped below
const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const TOKEN = "image-test-authtoken";

describe.skipIf(!image)(`the container image (${image ?? "ONRAMP_TEST_IMAGE unset: not built"})`, () => {
  let network: StartedNetwork;
  let edge: StartedTestContainer;
  let agent: StartedTestContainer;
  let upstream: StartedTestContainer;
  let edgeUrl: string;

  beforeAll(async () => {
    network = await new Network().start();
    [edge, upstream] = await Promise.all([
      new GenericContainer(image!)
        .withNetwork(network)
        .withNetworkAliases("edge")
        .withCommand(["edge", "--authtoken", TOKEN])
        .withWaitStrategy(Wait.forHealthCheck())
        .withStartupTimeout(60_000)
        .start(),
      new GenericContainer(image!)
        .withNetwork(network)
        .withNetworkAliases("upstream")
        .withCopyFilesToContainer([{ source: join(REPO, "deploy/compose/demo-upstream.mjs"), target: "/tmp/upstream.mjs" }])
        .withEntrypoint(["/usr/bin/tini", "--", "node", "/tmp/upstream.mjs"])
        // Long enough for the drain test to see the request in flight: each look is a `docker exec`
        // of node, which took more than 400 ms on a slow machine and missed a 400 ms request.
        .withEnvironment({ UPSTREAM_NAME: "in-a-container", DELAY_MS: "3000" })
        .withWaitStrategy(Wait.forLogMessage(/demo upstream/))
        .start(),
    ]);
    agent = await new GenericContainer(image!)
      .withNetwork(network)
      .withCommand(["http", "upstream:8000", "--url", "http://app.localhost", "--edge", "edge:4443", "--insecure-edge", "--authtoken", TOKEN, "--inspect=false"])
      .withEnvironment({
        ONRAMP_METRICS_ADDR: "0.0.0.0:9100",
        ONRAMP_HEALTHCHECK_URL: "http://127.0.0.1:9100/metrics",
        ONRAMP_HEALTHCHECK_EXPECT: "onramp_agent_sessions\\{[^}]*\\} 1$",
      })
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(60_000)
      .start();
    edgeUrl = `http://${edge.getIpAddress(network.getName())}:8080`;
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([agent, upstream, edge].filter(Boolean).map((c) => c.stop({ timeout: 5_000 })));
    await network?.stop();
  }, 60_000);

  it("runs onramp as an unprivileged user, under tini", async () => {
    expect((await edge.exec(["id", "-un"])).output.trim()).toBe("onramp");
    expect((await edge.exec(["cat", "/proc/1/comm"])).output.trim()).toBe("tini");
  });

  it("serves a request from the host through the edge and the agent containers to the upstream", async () => {
    const reply = await send({ base: edgeUrl, host: "app.localhost", path: "/hello" });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ name: "in-a-container", path: "/hello" });
    const unknown = await send({ base: edgeUrl, host: "nothing.localhost" });
    expect(unknown.status).toBe(404);
    expect(unknown.headers["onramp-error-code"]).toBe("ERR_ONRAMP_ENDPOINT_NOT_FOUND");
  });

  it("docker stop drains: the request in flight is answered and the agent exits 0", async () => {
    const inFlight = send({ base: edgeUrl, host: "app.localhost", path: "/during-stop" });
    // The upstream answers after 3 s: stop the agent once the request is there.
    await until("the agent has the request in flight", async () => (await agentActive(agent)) > 0, 10_000);
    const stopped = agent.stop({ timeout: 20_000, remove: false });
    expect((await inFlight).status).toBe(200);
    const client = await getContainerRuntimeClient();
    const container = client.container.getById((await stopped).getId());
    const state = (await client.container.inspect(container)).State;
    await client.container.remove(container);
    expect({ exitCode: state.ExitCode, oomKilled: state.OOMKilled }).toEqual({ exitCode: 0, oomKilled: false });
  }, 60_000);
});

/** Requests the agent has in flight to its upstream, from its /metrics. */
async function agentActive(agent: StartedTestContainer): Promise<number> {
  const { output } = await agent.exec(["node", "-e", "fetch('http://127.0.0.1:9100/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))"]);
  const m = /^onramp_agent_upstream_active_requests\s+(\S+)/m.exec(output);
  return m ? Number(m[1]) : 0;
}

describe.skipIf(!image || !baseImage)("the Terraform bootstrap, in a Debian container with a release made from the image", () => {
  let etcd: EtcdServer;
  let nats: NatsNode;
  let app: Upstream;
  let booted: StartedTestContainer | undefined;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "onramp-release-"));
    [etcd, nats, app] = await Promise.all([startEtcd(), startNatsServer(), startUpstream("behind-bootstrapped-edge")]);
    await run(join(REPO, "deploy/docker/release-tarball.sh"), [image!, join(work, "onramp.tar.gz")]);
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    await booted?.stop({ timeout: 10_000 });
    await Promise.allSettled([etcd?.stop(), nats?.stop(), app?.close()]);
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it("installs the release, writes the edge's settings, and the edge it starts serves an agent", async () => {
    const [http, grpc, admin] = await freePorts(3);
    // Host networking: the edge in the container reaches etcd and NATS on this host's loopback,
    // and listens on loopback ports this test chose.
    booted = await new GenericContainer(baseImage!)
      .withNetworkMode("host")
      .withUser("root")
      .withCopyFilesToContainer([
        { source: join(work, "onramp.tar.gz"), target: "/tmp/onramp.tar.gz" },
        { source: join(REPO, "deploy/terraform/bootstrap/onramp-bootstrap.sh"), target: "/usr/local/sbin/onramp-bootstrap.sh", mode: 0o755 },
      ])
      .withEnvironment({
        ONRAMP_SECRETS_PROVIDER: "env",
        ONRAMP_RELEASE_URL: "file:///tmp/onramp.tar.gz",
        ONRAMP_ETCD: etcd.url,
        ONRAMP_NATS: nats.url,
        ONRAMP_CLUSTER_SECRET: "bootstrap-test-cluster-secret",
        ONRAMP_AUTHTOKEN: TOKEN,
        ONRAMP_REGION: "container",
        ONRAMP_HTTP_ADDR: `127.0.0.1:${http}`,
        ONRAMP_GRPC_ADDR: `127.0.0.1:${grpc}`,
        ONRAMP_ADMIN_ADDR: `127.0.0.1:${admin}`,
        ONRAMP_ADVERTISE_ADDR: `127.0.0.1:${grpc}`,
      })
      // What the script prints to do where systemd is not running, after configuring.
      .withEntrypoint(["bash", "-c", "onramp-bootstrap.sh && set -a && . /etc/onramp/edge.env && set +a && exec runuser -u onramp -- node /opt/onramp/cli/bin/onramp.js edge"])
      .withWaitStrategy(Wait.forLogMessage(/"msg":"edge ready"/))
      .withStartupTimeout(150_000)
      .start();

    expect((await booted.exec(["stat", "-c", "%a %U", "/etc/onramp/edge.env"])).output.trim()).toBe("600 root");
    expect((await booted.exec(["test", "-f", "/etc/systemd/system/onramp-edge.service"])).exitCode).toBe(0);
    const health = await fetch(`http://127.0.0.1:${admin}/healthz`);
    expect(health.status).toBe(200);

    startOnramp("agent-of-bootstrapped-edge", ["http", app.target, "--edge", `127.0.0.1:${grpc}`, "--authtoken", TOKEN, "--url", "http://boot.localhost", "--inspect=false"]);
    let reply = { status: 0, body: "" };
    await until("a request through the bootstrapped edge", async () => {
      reply = await send({ base: `http://127.0.0.1:${http}`, host: "boot.localhost", path: "/whoami", timeoutMs: 3_000 }).catch(() => reply);
      return reply.status === 200;
    }, 30_000);
    expect(reply.body).toContain("behind-bootstrapped-edge");
  }, 200_000);
});
