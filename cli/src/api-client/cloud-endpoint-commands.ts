import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Command } from "commander";
import { readTextFile } from "../config-file.js";
import { printRecord } from "./api-output.js";
import { openSession, pathSegment, type ApiIo } from "./api-session.js";
import { addDeleteCommand, addGetCommand, addListCommand } from "./resource-commands.js";
import { cloudEndpointView } from "./views.js";

interface CloudEndpointFlags {
  url?: string;
  trafficPolicyFile?: string;
  trafficPolicy?: string;
  description?: string;
}

/** The name the API validates an inline policy under, and so the name its errors carry. */
const INLINE_POLICY_SOURCE = "traffic_policy";

/** `onramp api cloud-endpoints create|list|get|update|delete`. */
export function registerCloudEndpointCommands(api: Command, io: ApiIo): void {
  const endpoints = api.command("cloud-endpoints").description("endpoints served by the edges themselves from a traffic policy, with no agent");

  const addPolicyFlags = (command: Command) =>
    command
      .option("--traffic-policy-file <file>", "the endpoint's traffic policy, YAML or JSON, sent as the file's text")
      .option("--traffic-policy <text>", "the policy inline, YAML or JSON")
      .option("--description <text>", "what the endpoint is for");

  addPolicyFlags(
    endpoints
      .command("create")
      .description("create a cloud endpoint; its policy must end with an unconditional rule that answers every request (forward-internal, deny, custom-response, redirect)")
      .option("--url <url>", "the URL it serves, e.g. https://api.example.com"),
  ).action(async (flags: CloudEndpointFlags, self: Command) => {
    if (flags.url === undefined) throw new OnrampError(ErrorCode.InvalidArgument, "--url is required: the URL the cloud endpoint serves, e.g. https://api.example.com");
    const policy = policyOf(flags);
    if (!policy) throw new OnrampError(ErrorCode.InvalidArgument, "a cloud endpoint needs a traffic policy: give --traffic-policy-file FILE or --traffic-policy TEXT");
    const session = openSession(self, io);
    const body = { url: flags.url, traffic_policy: policy.text, ...(flags.description === undefined ? {} : { description: flags.description }) };
    printRecord(session, cloudEndpointView, await session.call("POST", "/v1/cloud_endpoints", body, policy.source));
  });

  addListCommand(endpoints, cloudEndpointView, io);
  addGetCommand(endpoints, cloudEndpointView, io);

  addPolicyFlags(
    endpoints
      .command("update")
      .description("replace a cloud endpoint's traffic policy or description; edges serve the new policy at once")
      .argument("<id>", "the cloud endpoint's id"),
  ).action(async (id: string, flags: CloudEndpointFlags, self: Command) => {
    const policy = policyOf(flags);
    if (!policy && flags.description === undefined) {
      throw new OnrampError(ErrorCode.InvalidArgument, "nothing to update: give --traffic-policy-file, --traffic-policy or --description");
    }
    const session = openSession(self, io);
    const body = { ...(policy ? { traffic_policy: policy.text } : {}), ...(flags.description === undefined ? {} : { description: flags.description }) };
    printRecord(session, cloudEndpointView, await session.call("PATCH", `/v1/cloud_endpoints/${pathSegment(id)}`, body, policy?.source));
  });

  addDeleteCommand(endpoints, cloudEndpointView, io, "delete", "Deleted", "delete a cloud endpoint: edges answer 404 for its host at once");
}

/** The policy text and the name its errors are reported under: the file as given, or `traffic_policy`. */
function policyOf(flags: CloudEndpointFlags): { text: string; source: string } | undefined {
  if (flags.trafficPolicyFile !== undefined && flags.trafficPolicy !== undefined) {
    throw new OnrampError(ErrorCode.InvalidArgument, "give --traffic-policy-file or --traffic-policy, not both");
  }
  if (flags.trafficPolicyFile !== undefined) return { text: readTextFile(flags.trafficPolicyFile, "--traffic-policy-file"), source: flags.trafficPolicyFile };
  if (flags.trafficPolicy !== undefined) return { text: flags.trafficPolicy, source: INLINE_POLICY_SOURCE };
  return undefined;
}
