import type { AgentStatus } from "@onramp/agent";
import { formatDuration } from "./units.js";

type Disconnected = Extract<AgentStatus, { kind: "disconnected" }>;
type ConnectionProblem = Disconnected["problem"];

/** What to check for each problem that means the edge was never reached; the others need no hint. */
const HINTS: Record<Exclude<ConnectionProblem, "lost" | "draining" | "edge-error">, string> = {
  refused: "is `onramp edge` running there?",
  dns: "is the host name right?",
  timeout: "is a firewall in the way, or the edge overloaded?",
  unreachable: "is the address right, and the network up?",
  protocol: "is that the edge's agent port (--grpc-addr, default 4443) rather than its HTTP port?",
  tls: "does the edge serve TLS there (it does with --tls-cert), or is something else in the way?",
};

/**
 * The line for one `disconnected` status, without "onramp: " and the newline: what went wrong,
 * what to check, and when the next try is. `attempts` > 1 says how many in a row failed alike.
 *
 *     cannot reach edge 127.0.0.1:4443 (connection refused) — is `onramp edge` running there? retrying in 6 s
 */
export function describeProblem(status: Disconnected, attempts = 1): string {
  const { edge, problem, reason } = status;
  const retry = formatDuration(status.retryInMs);
  const times = attempts > 1 ? ` after ${attempts} attempts` : "";
  switch (problem) {
    case "lost":
      return `lost the session with edge ${edge} (${reason}); reconnecting in ${retry}`;
    case "draining":
      return `edge ${edge} is going away (${reason})${times}; reconnecting in ${retry}`;
    case "edge-error":
      return `edge ${edge} refused the session (${reason})${times}; retrying in ${retry}`;
    default:
      return `${attempts > 1 ? "still cannot" : "cannot"} reach edge ${edge}${times} (${reason}) — ${HINTS[problem]} retrying in ${retry}`;
  }
}

/**
 * Whether the n-th identical failure in a row gets a line: the 1st, 4th, 8th, …, 64th, then every
 * 64th. With the default backoff (250 ms doubling to 30 s, jittered) that is a few lines in the
 * first quarter minute, then about every quarter of an hour: a long outage neither floods the
 * terminal nor goes quiet.
 */
function worthALine(repeats: number): boolean {
  if (repeats === 1) return true;
  if (repeats > 64) return repeats % 64 === 0;
  return repeats >= 4 && (repeats & (repeats - 1)) === 0;
}

interface EdgeState {
  /** A session with this edge was up at some point: the next one is a reconnect. */
  everUp: boolean;
  /** Failures since the last connect, and what the last one was. */
  failures: number;
  last: string | undefined;
  /** Identical failures in a row. */
  repeats: number;
}

/**
 * A `describeStatus(status)` for one agent: the stderr line (without the newline) a status is
 * worth, or undefined. One line per connection problem, identical repeats thinned out (the 1st,
 * 4th, 8th, 16th, … attempt) but a changed reason said at once; after a problem, one line when the
 * edge is back: "connected to edge …", or "reconnected …" if a session had been up before. Other
 * statuses print nothing: fatal errors reach the user as the command's error, health changes
 * through createHealthPrinter.
 */
export function createStatusDescriber(): (status: AgentStatus) => string | undefined {
  const edges = new Map<string, EdgeState>();
  const stateOf = (edge: string) => {
    let state = edges.get(edge);
    if (!state) edges.set(edge, (state = { everUp: false, failures: 0, last: undefined, repeats: 0 }));
    return state;
  };
  return (status) => {
    if (status.kind === "connected") {
      const state = stateOf(status.edge);
      const hadProblem = state.failures > 0;
      const line = hadProblem ? `onramp: ${state.everUp ? "reconnected" : "connected"} to edge ${status.edge}` : undefined;
      Object.assign(state, { everUp: true, failures: 0, last: undefined, repeats: 0 });
      return line;
    }
    if (status.kind !== "disconnected") return undefined;
    const state = stateOf(status.edge);
    const key = `${status.problem}\n${status.reason}`;
    state.repeats = key === state.last ? state.repeats + 1 : 1;
    state.last = key;
    state.failures++;
    return worthALine(state.repeats) ? `onramp: ${describeProblem(status, state.repeats)}` : undefined;
  };
}
