import { ErrorCode } from "@onramp/errors";
import { describe, expect, it } from "vitest";
import { ConnectionFailure } from "./connection-problem.js";
import { isLoopbackHost, tlsError, usesTls, type EdgeTlsSettings } from "./edge-tls.js";
import { resolveAgentOptions } from "./options.js";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const none: EdgeTlsSettings = { ca: undefined, insecure: false };
const withCa: EdgeTlsSettings = { ca: PEM, insecure: false };
const insecure: EdgeTlsSettings = { ca: undefined, insecure: true };

describe("when the agent speaks TLS to an edge (docs/security.md)", () => {
  it.each(["127.0.0.1", "127.8.9.10", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost", "LOCALHOST", "edge.localhost"])("%s is loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(["10.0.0.1", "192.0.2.2", "128.0.0.1", "::2", "fd00::1", "edge.example.com", "localhost.example.com", "mylocalhost"])("%s is not loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });

  it.each([
    ["edge.example.com:4443", none, true],
    ["10.1.2.3:4443", none, true],
    ["[fd00::2]:4443", none, true],
    ["edge.example.com:4443", withCa, true],
    ["edge.example.com:4443", insecure, false],
    ["127.0.0.1:4443", none, false],
    ["localhost:4443", none, false],
    ["[::1]:4443", none, false],
    ["127.0.0.1:4443", withCa, true],
    ["localhost:4443", withCa, true],
    ["127.0.0.1:4443", insecure, false],
  ] as const)("%s with %j: TLS %s", (edge, settings, tls) => {
    expect(usesTls(edge, settings)).toBe(tls);
  });
});

describe("a failed TLS handshake with an edge", () => {
  const edge = "edge.example.com:4443";
  const fail = (code: string, message = code, extra: object = {}) => tlsError(Object.assign(new Error(message), { code, ...extra }), edge, none);

  it.each([
    ["CERT_HAS_EXPIRED", "its TLS certificate has expired"],
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "its TLS certificate is not signed by a CA the agent trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE); trusted: the system CAs (pass the edge's CA with --edge-ca FILE)"],
    ["SELF_SIGNED_CERT_IN_CHAIN", "not signed by a CA the agent trusts"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "not signed by a CA the agent trusts"],
    ["ERR_SSL_WRONG_VERSION_NUMBER", "it does not speak TLS on its agent port; give the edge a certificate (--tls-cert and --tls-key), or pass --insecure-edge"],
  ])("%s: refuses the edge (EDGE_UNTRUSTED, which stops the agent) and says why", (code, why) => {
    const error = fail(code);
    expect(error.code).toBe(ErrorCode.EdgeUntrusted);
    expect(error.message).toContain(`refusing the edge at ${edge}: `);
    expect(error.message).toContain(why);
  });

  it("names the host the certificate is not for", () => {
    const error = fail("ERR_TLS_CERT_ALTNAME_INVALID", "altnames", { reason: "Host: edge.example.com. is not in the cert's altnames: DNS:other.example.com" });
    expect(error.code).toBe(ErrorCode.EdgeUntrusted);
    expect(error.message).toContain("its TLS certificate is not for edge.example.com (Host: edge.example.com. is not in the cert's altnames: DNS:other.example.com)");
  });

  it("points at --edge-ca when one was given", () => {
    expect(tlsError(Object.assign(new Error("x"), { code: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY" }), edge, withCa).message).toContain("trusted: the CA of --edge-ca");
  });

  it("is retried when the connection merely closed or was refused", () => {
    const closed = fail("ECONNRESET", "Client network socket disconnected before secure TLS connection was established");
    expect(closed.code).toBe(ErrorCode.AgentDisconnected);
    expect((closed.cause as ConnectionFailure).problem).toBe("tls");
    const refused = fail("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.1:4443");
    expect(refused.code).toBe(ErrorCode.AgentDisconnected);
    expect((refused.cause as ConnectionFailure).problem).toBe("refused");
  });
});

describe("agent options for TLS", () => {
  it("defaults to no CA of its own and TLS off only on loopback", () => {
    expect(resolveAgentOptions({ edge: "a:1" }).tls).toEqual({ ca: undefined, insecure: false });
    expect(resolveAgentOptions({ edge: "a:1", edgeCa: PEM }).tls).toEqual({ ca: PEM, insecure: false });
    expect(resolveAgentOptions({ edge: "a:1", insecureEdge: true }).tls).toEqual({ ca: undefined, insecure: true });
  });

  it("refuses a CA that is not PEM, and a CA together with insecureEdge", () => {
    expect(() => resolveAgentOptions({ edge: "a:1", edgeCa: "/etc/ca.pem" })).toThrow("agent option edgeCa: must be PEM certificates");
    expect(() => resolveAgentOptions({ edge: "a:1", edgeCa: PEM, insecureEdge: true })).toThrow("agent option insecureEdge:");
  });
});
