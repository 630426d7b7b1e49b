import type { Method, Route } from "./route.js";

export type RouteMatch =
  | { readonly kind: "route"; readonly route: Route; readonly params: Record<string, string> }
  /** The path exists, not with this method; `public` if it is served without a key. */
  | { readonly kind: "method-not-allowed"; readonly allowed: Method[]; readonly public: boolean }
  | { readonly kind: "not-found" };

interface Compiled {
  readonly route: Route;
  /** Literal segments as they are; parameters as `{ param: name }`. */
  readonly segments: ReadonlyArray<string | { readonly param: string }>;
}

/** The full template of a route, as a client writes it: `/v1/authtokens/{id}`. */
export const fullPathOf = (route: Route): string => `${route.base}${route.path}`;

/**
 * Matches a method and a raw path (no query) against the table. A parameter matches one
 * non-empty segment and is percent-decoded (`%2A.example.com` is `*.example.com`); a segment that
 * does not decode matches nothing.
 */
export function createRouter(routes: readonly Route[]): (method: string, path: string) => RouteMatch {
  const compiled: Compiled[] = routes.map((route) => ({
    route,
    segments: fullPathOf(route)
      .split("/")
      .map((segment) => (/^\{\w+\}$/.test(segment) ? { param: segment.slice(1, -1) } : segment)),
  }));

  return (method, path) => {
    const parts = path.split("/");
    const allowed: Method[] = [];
    let isPublic = false;
    for (const candidate of compiled) {
      const params = matchSegments(candidate.segments, parts);
      if (!params) continue;
      if (candidate.route.method === method) return { kind: "route", route: candidate.route, params };
      allowed.push(candidate.route.method);
      isPublic ||= candidate.route.public === true;
    }
    return allowed.length > 0 ? { kind: "method-not-allowed", allowed, public: isPublic } : { kind: "not-found" };
  };
}

function matchSegments(segments: Compiled["segments"], parts: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of segments.entries()) {
    const part = parts[i]!;
    if (typeof segment === "string") {
      if (part !== segment) return undefined;
      continue;
    }
    if (part === "") return undefined;
    try {
      params[segment.param] = decodeURIComponent(part);
    } catch {
      return undefined;
    }
  }
  return params;
}
