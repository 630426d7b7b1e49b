import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";

/** Whether Debian's `pebble` package is installed (scripts/test.sh installs it). */
export function pebbleAvailable(): boolean {
  return existsSync("/usr/bin/pebble") && existsSync("/usr/bin/pebble-challtestsrv");
}

export interface Pebble {
  /** The ACME directory URL. */
  directoryUrl: string;
  /** The CA of pebble's own HTTPS (the directory), for `acme.ca`. */
  ca: string;
  /** The root that pebble's issued certificates chain to (its management endpoint's /roots/0). */
  root(): Promise<string>;
  /** Everything pebble wrote to stdout and stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Pebble (Let's Encrypt's test CA) and pebble-challtestsrv as its DNS server, which answers every
 * A query with 127.0.0.1, on loopback ports: pebble validates HTTP-01 on `httpPort` and
 * TLS-ALPN-01 on `tlsPort` of 127.0.0.1, an edge's listeners.
 */
export async function startPebble(ports: { httpPort: number; tlsPort: number; /** Pebble's own four: ACME, management, DNS, challenge server (pick them with the edges', so none repeats). */ own: readonly number[] }): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), "onramp-pebble-"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "ca.key"), "-out", join(dir, "ca.crt"), "-days", "2", "-subj", "/CN=pebble test CA");
  writeFileSync(join(dir, "ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "csr.pem"), "-subj", "/CN=localhost");
  openssl("x509", "-req", "-in", join(dir, "csr.pem"), "-CA", join(dir, "ca.crt"), "-CAkey", join(dir, "ca.key"), "-set_serial", "2", "-days", "2", "-extfile", join(dir, "ext"), "-out", join(dir, "cert.pem"));
  const ca = readFileSync(join(dir, "ca.crt"), "utf8");
  const [acmePort, managementPort, dnsPort, challtestPort] = ports.own;
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: join(dir, "cert.pem"),
      privateKey: join(dir, "key.pem"),
      httpPort: ports.httpPort,
      tlsPort: ports.tlsPort,
      ocspResponderURL: "",
      externalAccountBindingRequired: false,
    },
  };
  writeFileSync(join(dir, "pebble.json"), JSON.stringify(config));
  let output = "";
  const children: ChildProcess[] = [];
  const run = (command: string, args: string[]) => {
    // No VA sleeps; validate for real; no bad-nonce rejections (acme-client retries them, but slowly).
    const child = spawn(command, args, { cwd: dir, env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_VA_ALWAYS_VALID: "0", PEBBLE_WFE_NONCEREJECT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    children.push(child);
    return child;
  };
  const stop = async () => {
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((resolve) => (c.once("exit", resolve), c.kill("SIGTERM"))))));
    rmSync(dir, { recursive: true, force: true });
  };
  run("pebble-challtestsrv", ["-dns01", `127.0.0.1:${dnsPort}`, "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", `127.0.0.1:${challtestPort}`, "-defaultIPv6", ""]);
  const pebble = run("pebble", ["-config", join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${dnsPort}`]);
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (pebble.exitCode !== null) throw new Error(`pebble exited with ${pebble.exitCode}:\n${output}`);
      if (await get(directoryUrl, ca).then(() => true, () => false)) break;
      if (Date.now() > deadline) throw new Error(`pebble did not answer within 15 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { directoryUrl, ca, root: () => get(`https://127.0.0.1:${managementPort}/roots/0`, ca), log: () => output, stop };
}

function get(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });
}

/** `count` distinct free loopback ports: every listener stays open until all are picked, so none repeats. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}
