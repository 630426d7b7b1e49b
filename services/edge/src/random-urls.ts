import { randomBytes } from "node:crypto";
import { derivedLabel, type Credential } from "./bind-access.js";
import { parseEndpointUrl, type EndpointUrl } from "./endpoint-url.js";

/** Random labels are 10 of [a-z0-9]: a collision is rare; 5 tries make a refusal practically impossible. */
export const RANDOM_URL_ATTEMPTS = 5;

/**
 * The URLs the edge picks for binds that name none, one label under `--domain`: drawn for the
 * edge's own tokens, derived (`derivedLabel`) for registry tokens, so that every edge of a mesh
 * with the same `--domain` recognises the URL when the agent binds it there by name.
 */
export class RandomUrls {
  private readonly host: string;

  /** `domain`: `host[:port]`; `publicPort`: the port clients use, known once the edge listens. */
  constructor(domain: string, private readonly publicPort: () => number) {
    this.host = domain.split(":")[0]!;
  }

  /** The URL to try for `bindId` at `attempt` (1 to RANDOM_URL_ATTEMPTS). */
  pick(credential: Credential, bindId: string, attempt: number): EndpointUrl {
    const label = credential.kind === "authtoken" ? derivedLabel(credential.token.id, bindId, attempt) : randomLabel();
    const port = this.publicPort();
    return parseEndpointUrl(`http://${label}.${this.host}${port === 80 ? "" : `:${port}`}`);
  }

  /** Whether `host` is one `pick` gives this registry token's bind `bindId` (here or at any edge with the same domain). */
  pickedFor(credential: Credential, bindId: string, host: string): boolean {
    if (credential.kind !== "authtoken") return false;
    const dot = host.indexOf(".");
    if (dot < 0 || host.slice(dot + 1) !== this.host) return false;
    const label = host.slice(0, dot);
    for (let attempt = 1; attempt <= RANDOM_URL_ATTEMPTS; attempt++) {
      if (derivedLabel(credential.token.id, bindId, attempt) === label) return true;
    }
    return false;
  }
}

/** A random hostname label: 10 of [a-z0-9]. */
export function randomLabel(): string {
  for (;;) {
    const name = randomBytes(8).toString("base64url").toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 10);
    if (name.length >= 8) return name;
  }
}
