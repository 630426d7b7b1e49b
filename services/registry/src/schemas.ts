import type { JsonSchema } from "./route.js";

/** Schema pieces every resource uses. */

export const timestamp: JsonSchema = { type: "string", format: "date-time" };

export const description: JsonSchema = { type: "string", maxLength: 255, description: "Free text for operators; at most 255 characters." };

export const uri: JsonSchema = { type: "string", description: "This object's path, relative to the server root (`/v1/…`)." };

export function object(properties: Record<string, JsonSchema>, required: readonly string[] = Object.keys(properties)): JsonSchema {
  return { type: "object", properties, required: [...required], additionalProperties: false };
}

/** The shape of a list answer: the items under the resource's name and the next page's URI. */
export function listOf(resource: string, item: JsonSchema, paginated: boolean): JsonSchema {
  const next: JsonSchema = paginated
    ? { type: ["string", "null"], description: "The next page, with the same `limit`; null on the last page." }
    : { type: "null", description: "Always null: the list comes whole." };
  return object({ [resource]: { type: "array", items: item }, next_page_uri: next });
}

export const errorSchemas: Record<string, JsonSchema> = {
  Error: {
    type: "object",
    description: "Every error answer. The status code is also in `status_code`, the code also in the `Onramp-Error-Code` header.",
    properties: {
      error_code: { type: "string", pattern: "^ERR_ONRAMP_[A-Z_]+$", examples: ["ERR_ONRAMP_NOT_FOUND"] },
      status_code: { type: "integer" },
      msg: { type: "string", description: "A sentence for people; never holds a secret." },
      details: {
        type: "object",
        properties: {
          field: { type: "string", description: "INVALID_ARGUMENT: the request field at fault, e.g. `acl[1]`." },
          errors: { type: "array", items: { $ref: "#/components/schemas/PolicyProblem" }, description: "POLICY_INVALID: every problem found." },
          allowed: { type: "array", items: { type: "string" }, description: "405: the methods the path takes." },
        },
      },
    },
    required: ["error_code", "status_code", "msg", "details"],
  },
  PolicyProblem: object({
    message: { type: "string" },
    line: { type: "integer", minimum: 1, description: "1-based, in the `traffic_policy` text (a JSON object is numbered as printed with 2-space indents)." },
    column: { type: "integer", minimum: 1 },
    rule: { type: ["string", "null"], description: "The rule at fault, e.g. `on_http_request[1]`; null outside rules." },
    field: { type: ["string", "null"], description: "Where in the rule (`expressions[0]`), or in the document outside rules; null for the rule itself." },
  }),
};
