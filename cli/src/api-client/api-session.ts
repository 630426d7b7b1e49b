import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { createApiClient, type ApiClient, type ApiResponse } from "./api-client.js";
import { describeFailure } from "./api-errors.js";
import { listPages, MAX_PAGE_SIZE, type ListResult } from "./list-pages.js";

/** Where `onramp api` writes: the answer on `out` (stdout), notes and errors on `err` (stderr). */
export interface ApiIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: ApiIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** The flags of `onramp api`, given before or after the subcommands. */
export interface ApiFlags {
  apiUrl?: string;
  apiKey?: string;
  apiCa?: string;
  json?: boolean;
}

/** One `onramp api …` run: the client, the output choice, and calls that fail the way every subcommand fails. */
export interface ApiSession {
  readonly client: ApiClient;
  readonly json: boolean;
  readonly io: ApiIo;
  /**
   * Sends a request and returns its 2xx answer. Any other answer is thrown as an OnrampError
   * carrying the API's `msg` (for a 422, with one line per policy error named after
   * `policySource`), which the CLI prints as `onramp: error: <msg>` and exits 1.
   */
  call(method: string, path: string, body?: unknown, policySource?: string): Promise<ApiResponse>;
  /** Every item of a list (or one page of `limit`), failing as `call` does. */
  list(collection: string, limit?: number): Promise<ListResult>;
}

export function openSession(command: Command, io: ApiIo): ApiSession {
  const flags = command.optsWithGlobals<ApiFlags>();
  const client = createApiClient({ apiUrl: flags.apiUrl, apiKey: flags.apiKey, ...(flags.apiCa ? { ca: readCa(flags.apiCa) } : {}) });
  const fail = (response: ApiResponse, policySource?: string): never => {
    throw describeFailure(response, policySource);
  };
  return {
    client,
    json: flags.json === true,
    io,
    async call(method, path, body, policySource) {
      const response = await client.send(method, path, body);
      return response.status >= 200 && response.status <= 299 ? response : fail(response, policySource);
    },
    async list(collection, limit) {
      const outcome = await listPages(client, collection, limit);
      return outcome.ok ? outcome.result : fail(outcome.response);
    },
  };
}

function readCa(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new OnrampError(ErrorCode.InvalidArgument, `--api-ca ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** `--limit`: one page of this many items, 1–1000 as the API allows. */
export function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > MAX_PAGE_SIZE) {
    throw new OnrampError(ErrorCode.InvalidArgument, `--limit ${JSON.stringify(value)}: give a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return n;
}

/**
 * An id or name as one path segment. encodeURIComponent leaves `*` alone; the API's ids of
 * wildcard domains need it encoded (`*.example.com` → `%2A.example.com`, docs/api.md).
 */
export function pathSegment(id: string): string {
  if (id.trim() === "") throw new OnrampError(ErrorCode.InvalidArgument, "the id must not be empty");
  return encodeURIComponent(id).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
