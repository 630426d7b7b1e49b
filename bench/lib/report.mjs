// Turns raw measurements into ratios, goal checks and a markdown table. The bench reports goals;
// it never fails on them.

const NAMES = ["direct", "nginx", "nginx2", "pipenet", "onramp"];
const LABELS = /** @type {Record<string, string>} */ ({
  direct: "direct (upstream)",
  nginx: "nginx (1 hop)",
  nginx2: "nginx (2 hops)",
  pipenet: "pipenet (tunnel)",
  onramp: "onramp (1 edge)",
});
/** KB here is 1,000 bytes, the stricter reading of the goal. */
const KB = 1000;

/**
 * @param {Record<string, any>} results
 */
export function summarize(results) {
  const t = results.targets;
  const rps = (/** @type {string} */ n) => num(t[n]?.closedLoop?.rps);
  const p99 = (/** @type {string} */ n) => num(t[n]?.closedLoop?.p99Ms);
  const openP99 = (/** @type {string} */ n) => (overloaded(t[n]?.openLoop) ? undefined : num(t[n]?.openLoop?.p99Ms));
  const openP999 = (/** @type {string} */ n) => (overloaded(t[n]?.openLoop) ? undefined : num(t[n]?.openLoop?.p999Ms));
  const ratios = {
    onrampVsDirectRps: div(rps("onramp"), rps("direct")),
    onrampVsNginxRps: div(rps("onramp"), rps("nginx")),
    onrampVsPipenetRps: div(rps("onramp"), rps("pipenet")),
    nginxVsDirectRps: div(rps("nginx"), rps("direct")),
    pipenetVsDirectRps: div(rps("pipenet"), rps("direct")),
    onrampVsNginxP99ClosedLoop: div(p99("onramp"), p99("nginx")),
    onrampVsNginxP99OpenLoop: div(openP99("onramp"), openP99("nginx")),
    onrampVsNginx2P99OpenLoop: div(openP99("onramp"), openP99("nginx2")),
    onrampVsDirectDownload: div(num(t.onramp?.download?.mbPerS), num(t.direct?.download?.mbPerS)),
    onrampVsDirectUpload: div(num(t.onramp?.upload?.mbPerS), num(t.direct?.upload?.mbPerS)),
  };
  const perSessionKB = div(num(results.memory?.perSessionBytes), KB);
  const rtt = (/** @type {string} */ n, /** @type {"download" | "upload"} */ dir) => transferRate(results.rtt?.[n]?.[dir]);
  const rttVsPipenet = (/** @type {"download" | "upload"} */ dir) => div(rtt("onramp", dir), rtt("pipenet", dir));
  const allocated = (/** @type {string} */ proc) => (results.alloc?.error ? undefined : num(results.alloc?.processes?.[proc]?.bytesPerRequest));
  const rate = results.openLoopRate ?? "?";
  const goals = [
    goal(`p99 at ${rate} req/s (50% of onramp's max) ≤ 2× nginx 2 hops' p99 at that rate`, ratios.onrampVsNginx2P99OpenLoop,
      (v) => v <= 2, (v) => `${v.toFixed(2)}× (${fmtMs(openP99("onramp"))} vs ${fmtMs(openP99("nginx2"))})`),
    goal(`p99.9 at ${rate} req/s ≤ 5 ms`, openP999("onramp"), (v) => v <= 5, (v) => fmtMs(v)),
    goal("requests/s ≥ 0.5× nginx (1 hop)", ratios.onrampVsNginxRps, (v) => v >= 0.5, (v) => `${v.toFixed(2)}× (${fmtInt(rps("onramp"))} vs ${fmtInt(rps("nginx"))})`),
    goal("requests/s ≥ 5× pipenet", ratios.onrampVsPipenetRps, (v) => v >= 5, (v) => `${v.toFixed(1)}×`),
    ...(/** @type {const} */ (["download", "upload"])).map((dir) =>
      goal(`${dir} at ${results.settings.rttMs} ms RTT ≥ pipenet's`, rttVsPipenet(dir), (v) => v >= 1,
        (v) => `${v.toFixed(2)}× (${rtt("onramp", dir)?.toFixed(1)} vs ${rtt("pipenet", dir)?.toFixed(1)} MB/s)`)),
    goal("a 10-rule policy keeps ≥ 90% of no-policy requests/s", results.policy?.error ? undefined : num(results.policy?.ratio), (v) => v >= 0.9,
      (v) => `${(v * 100).toFixed(0)}% (${fmtInt(results.policy.policyRps)} vs ${fmtInt(results.policy.noPolicyRps)} req/s)`),
    goal("edge memory ≤ 48 KB per idle session", perSessionKB, (v) => v <= 48, (v) => `${v.toFixed(1)} KB`),
    ...["edge", "agent"].map((proc) =>
      goal(`allocation ≤ 2 KB per request (${proc})`, allocated(proc), (v) => v <= 2 * KB, (v) => `${(v / KB).toFixed(2)} KB`)),
    goal("tracing at sampler 0.01 keeps ≥ 90% of requests/s", results.observe?.error ? undefined : num(results.observe?.ratios?.tracing001), (v) => v >= 0.9,
      (v) => `${(v * 100).toFixed(0)}% (${fmtInt(results.observe.rps.tracing001)} vs ${fmtInt(results.observe.rps.off)} req/s)`),
    goal("the inspector keeps ≥ 95% of requests/s", results.observe?.error ? undefined : num(results.observe?.ratios?.inspector), (v) => v >= 0.95,
      (v) => `${(v * 100).toFixed(0)}% (${fmtInt(results.observe.rps.inspector)} vs ${fmtInt(results.observe.rps.off)} req/s)`),
  ];
  return { ...results, ratios, goals, meshGoals: results.mesh ? meshGoals(results.mesh) : undefined };
}

/** The mesh goals; a part that failed is "not measured". @param {Record<string, any>} m */
function meshGoals(m) {
  const ok = (/** @type {any} */ part) => part && !part.error;
  return [
    goal("relayed (a→b) req/s ≥ 0.6× one edge's", ok(m.relay) ? num(m.relay.ratio) : undefined, (v) => v >= 0.6,
      (v) => `${v.toFixed(2)}× (${fmtInt(m.relay.relayed.rps)} vs ${fmtInt(m.relay.local.rps)} req/s)`),
    goal("membership add, edge to edge, p99 ≤ 100 ms", ok(m.propagation) ? num(m.propagation.add?.p99Ms) : undefined, (v) => v <= 100,
      (v) => `${fmtMs(v)} (p50 ${fmtMs(m.propagation.add.p50Ms)})`),
    goal("dead edge out of every pool ≤ 3 s", ok(m.failover) ? num(m.failover.detectMaxMs) : undefined, (v) => v <= 3000,
      (v) => `${(v / 1000).toFixed(2)} s (max of ${m.failover.rounds.length})`),
    goal("agent on two edges: longest gap via the surviving edge ≤ 2 s", ok(m.failover) ? num(m.failover.rehomeViaA.longestGapMs) : undefined, (v) => v <= 2000,
      (v) => `${fmtMs(v)}, ${m.failover.rehomeViaA.failed} of ${m.failover.rehomeViaA.sent} failed`),
    goal("global rate limit overshoot ≤ 5%", ok(m.rateLimit) ? num(m.rateLimit.overshoot) : undefined, (v) => v <= 0.05,
      (v) => `${(v * 100).toFixed(1)}% (${m.rateLimit.allowed} allowed of capacity ${m.rateLimit.capacity})`),
  ];
}

/**
 * @param {Record<string, any>} r the output of `summarize`
 */
export function renderMarkdown(r) {
  const s = r.settings;
  const e = r.environment;
  const lines = [];
  lines.push(`# Onramp bench (${s.mode})`, "");
  lines.push(`${e.date} · ${e.cores} × ${e.cpu} · Node ${e.node} · ${e.nginx} · ${e.wrk.split(" [")[0]} · pipenet ${e.pipenet} · onramp ${e.onramp} · ` +
    `load average ${e.loadAverage1m} at start, ${e.loadAverage1mAtEnd ?? "?"} at end`, "");
  const targetsRun = Object.keys(r.targets).length > 0;
  if (targetsRun) lines.push(`Small requests: \`GET /hello\` (13-byte body), \`wrk -t${s.wrk.threads} -c${s.wrk.connections} -d${s.wrk.durationS}s --latency\` after a ${s.wrk.warmupS} s warm-up${s.repeat > 1 ? `, median of ${s.repeat} runs` : ""}. ` +
    `Open loop: ${r.openLoopRate ?? "—"} req/s (${r.openLoopRateSource ?? "no rate: onramp and nginx unavailable"}) for ${s.openLoop.durationS} s${s.repeat > 1 ? ` (median p99 of ${s.repeat} runs)` : ""}, ${s.openLoop.connections} connections, latency from the time each request was due. ` +
    `Transfers: one ${s.transferBytes / 1e6} MB body each way on a fresh connection (MB = 10^6 bytes). ` +
    "Every onramp row (and the policy, observability, memory, breakdown and mesh figures) runs `onramp edge --workers 1`, one edge process, as before `--workers` existed; the edge's default is one worker per core, measured under \"Edge workers\".", "");

  if (targetsRun) lines.push("| target | req/s | vs direct | p50 | p99 | open loop p99 / p99.9 | down MB/s | up MB/s |");
  if (targetsRun) lines.push("|---|--:|--:|--:|--:|--:|--:|--:|");
  const direct = num(r.targets.direct?.closedLoop?.rps);
  for (const name of NAMES) {
    const t = r.targets[name];
    if (!t) continue;
    if (!t.available) {
      lines.push(`| ${LABELS[name]} | not run: ${oneLine(t.error)} |  |  |  |  |  |  |`);
      continue;
    }
    const c = t.closedLoop ?? {};
    const errs = (c.non2xx ?? 0) + (c.socketErrors ?? 0);
    lines.push(`| ${LABELS[name]} | ${c.error ? `failed: ${oneLine(c.error)}` : fmtInt(c.rps) + (errs ? ` (${errs} errors)` : "")} | ` +
      `${fmtPct(div(num(c.rps), direct))} | ${fmtMs(num(c.p50Ms))} | ${fmtMs(num(c.p99Ms))} | ${openLoopCell(t.openLoop)} | ` +
      `${transferCell(t.download)} | ${transferCell(t.upload)} |`);
  }
  lines.push("");
  lines.push(...renderSweep(r), ...renderHops(r.hops), ...renderAlloc(r.alloc, s));

  const rttRows = Object.entries(r.rtt ?? {});
  if (rttRows.length) {
    lines.push(`With ${s.rttMs} ms RTT injected between the tunnel's agent/client and its edge/server (delay proxy, ${s.rttMs / 2} ms each way, no bandwidth limit):`, "");
    lines.push("| tunnel | GET /hello | down MB/s | up MB/s |", "|---|--:|--:|--:|");
    for (const [name, t] of rttRows) {
      if (!t.available) lines.push(`| ${LABELS[name]} | not run: ${oneLine(t.error)} |  |  |`);
      else lines.push(`| ${LABELS[name]} | ${fmtMs(num(t.helloMs))} | ${transferCell(t.download)} | ${transferCell(t.upload)} |`);
    }
    lines.push("");
  }

  const m = r.memory;
  if (m) {
    if (m.error) lines.push(`Edge memory: failed: ${oneLine(m.error)}`, "");
    else {
      lines.push(`Edge memory: ${m.sessions} idle sessions (one process, each session = control stream + the data connections the edge asks for + 1 bound endpoint; ` +
        `${m.endpointsBound ?? "?"} endpoints online), connected in ${m.connectSeconds} s. ` +
        `RSS ${mib(m.rssBeforeBytes)} → ${mib(m.rssAfterBytes)}: **${(m.perSessionBytes / KB).toFixed(1)} KB per session**` +
        (Array.isArray(m.runs) ? ` (median of ${m.runs.length} fresh edges: ${m.runs.map((/** @type {any} */ x) => (x.perSessionBytes / KB).toFixed(1)).join(", ")} KB).` : "."), "");
    }
  }

  const p = r.policy;
  if (p) {
    if (p.error) lines.push(`Policy overhead: failed: ${oneLine(p.error)}`, "");
    else {
      lines.push(`Policy overhead (onramp, \`GET /hello\` with a valid JWT and an API key, no policy and a 10-rule policy, ${interleaving(p)}): ` +
        `${fmtInt(p.noPolicyRps)} → ${fmtInt(p.policyRps)} req/s, **${(p.ratio * 100).toFixed(0)}%**${pairs(p.roundRatios?.policy)}` +
        (p.non2xx > 0 ? ` (warning: ${p.non2xx} non-2xx answers)` : "") + ".", "");
    }
  }

  const o = r.observe;
  if (o) {
    if (o.error) lines.push(`Observability overhead: failed: ${oneLine(o.error)}`, "");
    else {
      const pct = (/** @type {number} */ v) => `${(v * 100).toFixed(0)}%`;
      lines.push(`Observability overhead (onramp, \`GET /hello\`, ${interleaving(o)}): all off ${fmtInt(o.rps.off)} req/s; ` +
        `tracing at sampler 0.01 ${fmtInt(o.rps.tracing001)} (**${pct(o.ratios.tracing001)}**${pairs(o.roundRatios?.tracing001)}), ` +
        `at 1.0 ${fmtInt(o.rps.tracing1)} (${pct(o.ratios.tracing1)}${pairs(o.roundRatios?.tracing1)}); ` +
        `inspector on ${fmtInt(o.rps.inspector)} (**${pct(o.ratios.inspector)}**${pairs(o.roundRatios?.inspector)}); ` +
        `edge access log on ${fmtInt(o.rps.accessLog)} (${pct(o.ratios.accessLog)}${pairs(o.roundRatios?.accessLog)}). ` +
        `Both processes exported ${(o.traceExport.bytes / 1024 / 1024).toFixed(1)} MiB of OTLP in ${o.traceExport.exports} requests to a local sink` +
        (o.non2xx > 0 ? ` (warning: ${o.non2xx} non-2xx answers)` : "") + ".", "");
    }
  }

  if (r.mesh) lines.push(...renderMesh(r.mesh, r.meshGoals, r.environment));
  if (r.workers) lines.push(...renderWorkers(r.workers, s));
  if (!targetsRun) return lines.join("\n");

  const ra = r.ratios;
  lines.push(`Ratios: onramp/direct ${fmtX(ra.onrampVsDirectRps)}, onramp/nginx ${fmtX(ra.onrampVsNginxRps)}, onramp/pipenet ${fmtX(ra.onrampVsPipenetRps)} (req/s); ` +
    `nginx/direct ${fmtX(ra.nginxVsDirectRps)}, pipenet/direct ${fmtX(ra.pipenetVsDirectRps)}; ` +
    `onramp p99 vs nginx p99: ${fmtX(ra.onrampVsNginxP99ClosedLoop)} at max load, ${fmtX(ra.onrampVsNginxP99OpenLoop)} in the open loop (vs nginx 2 hops: ${fmtX(ra.onrampVsNginx2P99OpenLoop)}); ` +
    `onramp/direct transfer: down ${fmtX(ra.onrampVsDirectDownload)}, up ${fmtX(ra.onrampVsDirectUpload)}.`, "");

  lines.push("| goal (onramp) | measured | met |", "|---|--:|:-:|");
  for (const g of r.goals) lines.push(`| ${g.goal} | ${g.measured} | ${g.met === undefined ? "n/a" : g.met ? "yes" : "**no**"} |`);
  lines.push("");
  return lines.join("\n");
}

/**
 * The mesh section: relay, propagation, failover rounds, rate limit, and the mesh goals.
 * @param {Record<string, any>} m @param {any[]} goals @param {Record<string, any>} e
 */
function renderMesh(m, goals, e) {
  const lines = [`## Mesh: etcd ${e.etcd ?? "?"}, nats-server ${e.natsServer ?? "?"}, edges a, b, c (each its own region, one process: \`--workers 1\`)`, ""];
  if (m.error) return [...lines, `Mesh: failed: ${oneLine(m.error)}`, ""];
  const failed = (/** @type {string} */ what, /** @type {any} */ part) => (part?.error ? [`${what}: failed: ${oneLine(part.error)}`, ""] : undefined);

  const rl = m.relay;
  lines.push(...(failed("Relay", rl) ?? [
    `Relay: one agent at edge b; \`GET /hello\` with \`wrk -t${m.settings.wrk.threads} -c${m.settings.wrk.connections} -d${m.settings.wrk.durationS}s --latency\` ` +
    `after a ${m.settings.wrk.warmupS} s warm-up (as the onramp row) sent to b and to a${m.settings.repeat > 1 ? `, alternately, median of ${m.settings.repeat} runs each` : ""}.`, "",
    "| path | req/s | p50 | p99 | CPU µs/request: edge a, edge b, agent |", "|---|--:|--:|--:|--:|",
    ...[["one edge (b, the agent's own)", rl.local], ["relayed (a → b → agent)", rl.relayed]].map(([label, w]) =>
      `| ${label} | ${fmtInt(w.rps)}${w.non2xx + w.socketErrors ? ` (${w.non2xx + w.socketErrors} errors)` : ""} | ${fmtMs(w.p50Ms)} | ${fmtMs(w.p99Ms)} | ` +
      `${w.cpuUsPerRequest["edge a"]}, ${w.cpuUsPerRequest["edge b"]}, ${w.cpuUsPerRequest.agent} |`),
    "", `Relayed / one edge: **${fmtX(rl.ratio)}**.`, ""]));

  const p = m.propagation;
  lines.push(...(failed("Propagation", p) ?? [
    `Propagation (${p.rounds} agents, one at a time, bind a new URL at b, then get SIGTERM; both admin APIs polled every 2 ms): ` +
    `add, b lists → a lists: **p50 ${fmtMs(p.add.p50Ms)}, p99 ${fmtMs(p.add.p99Ms)}** (agent's \`Forwarding\` line → a lists: p50 ${fmtMs(p.addFromForwarding.p50Ms)}, p99 ${fmtMs(p.addFromForwarding.p99Ms)}); ` +
    `removal, b drops → a drops: **p50 ${fmtMs(p.remove.p50Ms)}, p99 ${fmtMs(p.remove.p99Ms)}** (SIGTERM → a drops: p50 ${fmtMs(p.removeFromSigterm.p50Ms)}, p99 ${fmtMs(p.removeFromSigterm.p99Ms)}).`, ""]));

  const f = m.failover;
  lines.push(...(failed("Failover", f) ?? [
    `Failover: pool members of \`https://pool.internal\` at a and c; a re-home agent with \`--edge c,a\` on a non-pooled URL, ${f.ratePerS} req/s to it through a and through b; edge c gets SIGKILL, then restarts on the same id and ports.`, "",
    "| round | a drops c's member | b drops it | via a: failed, longest gap | via b: failed, longest gap | c down | agent back at c (after c ready) | a lists c's new member | a listed the dead session again |",
    "|--:|--:|--:|--:|--:|--:|--:|--:|:-:|",
    ...f.rounds.map((/** @type {any} */ x, /** @type {number} */ i) =>
      `| ${i + 1} | ${fmtMs(x.detectMs)} | ${fmtMs(x.detectAtBMs)} | ${pacedCell(x.viaA)} | ${pacedCell(x.viaB)} | ` +
      `${fmtMs(x.cDownMs)} | ${fmtMs(x.agentBackAtCMs)} | ${fmtMs(x.poolMemberBackAtAMs)} | ${x.staleMemberListedAtA ? "**yes**" : "no"} |`),
    ""]));

  const q = m.rateLimit;
  lines.push(...(failed("Rate limit", q) ?? [
    `Global rate limit (cloud endpoint on a, \`sliding_window\` ${q.capacity} per ${q.windowS} s, one bucket): ${q.sent} requests at ${q.ratePerS}/s round robin over a, b, c inside one window: ` +
    `${q.allowed} allowed (a ${q.allowedPerEdge.a}, b ${q.allowedPerEdge.b}, c ${q.allowedPerEdge.c}), ${q.limited} limited (429)${q.other ? `, **${q.other} other** (${oneLine(JSON.stringify(q.statuses))})` : ""}: ` +
    `overshoot **${(q.overshoot * 100).toFixed(1)}%**.`, ""]));

  lines.push("| goal (mesh) | measured | met |", "|---|--:|:-:|");
  for (const g of goals) lines.push(`| ${g.goal} | ${g.measured} | ${g.met === undefined ? "n/a" : g.met ? "yes" : "**no**"} |`);
  lines.push("");
  return lines;
}

/**
 * The edge workers section: req/s with 1 and 2 workers, edge only (pinned) and the full tunnel.
 * @param {Record<string, any>} w @param {Record<string, any>} s settings
 */
function renderWorkers(w, s) {
  const lines = [`## Edge workers: \`onramp edge --workers\` 1 vs 2 (${w.cores ?? "?"} cores)`, ""];
  if (w.error) return [...lines, `Edge workers: failed: ${oneLine(w.error)}`, ""];
  const load = `\`wrk -t${s.wrk.threads} -c${s.wrk.connections} -d${s.wrk.durationS}s\` after a ${s.wrk.warmupS} s warm-up, each variant on a fresh edge, ` +
    `variants alternately${s.repeat > 1 ? `, median of ${s.repeat} runs each` : ""}`;
  const busy = (/** @type {any} */ x, /** @type {string[]} */ keys) => [...keys, "others"].map((k) => x.cores?.[k]?.toFixed(2) ?? "—").join(", ");
  const perRequest = (/** @type {any} */ x, /** @type {string[]} */ keys) => keys.map((k) => x.cpuUsPerRequest?.[k] ?? "—").join(", ");
  const rows = (/** @type {any} */ part, /** @type {string[]} */ keys) => part.variants.map((/** @type {any} */ v) => {
    const x = part.medians[v.key];
    if (!x) return `| ${v.label} | — |  |  |  |`;
    const errs = x.non2xx + x.socketErrors;
    return `| ${v.label} | ${fmtInt(x.rps)}${errs ? ` (${errs} errors)` : ""} | ${fmtMs(x.p99Ms)} | ${busy(x, keys)} | ${perRequest(x, keys)} |`;
  });

  const e = w.edgeOnly;
  if (e.error) lines.push(`Edge only: failed: ${oneLine(e.error)}`, "");
  else {
    lines.push(`Edge only: a cloud endpoint whose policy answers \`custom-response\` (13 bytes), no agent or upstream; ${load}; ` +
      `wrk pinned to CPU ${e.wrkCpus}, the edge (primary and workers) to the CPUs named (\`taskset -c\`).`, "",
      "| edge | req/s | p99 | CPU busy (cores): edge, wrk, others | CPU µs/request: edge, wrk |", "|---|--:|--:|--:|--:|",
      ...rows(e, ["edge", "wrk"]), "",
      `2 workers / 1 worker on the same CPUs: **${fmtX(e.ratio)}** (vs 1 worker on CPU 0 alone: ${fmtX(e.ratioVsOneCpu)}).`, "");
  }
  const t = w.tunnel;
  if (t.error) lines.push(`Full tunnel: failed: ${oneLine(t.error)}`, "");
  else {
    const keys = ["edge", "agent", "upstream", "wrk"];
    lines.push(`Full tunnel (client → edge → agent → upstream, \`GET /hello\`), nothing pinned; ${load}.`, "",
      `| edge | req/s | p99 | CPU busy (cores): ${keys.join(", ")}, others | CPU µs/request: ${keys.join(", ")} |`, "|---|--:|--:|--:|--:|",
      ...rows(t, keys), "",
      `2 workers / 1 worker: **${fmtX(t.ratio)}**.` +
      (t.notBound?.length ? ` **${t.notBound.length} start(s) of the edge had a worker without the agent's session listed as its own** and were started again (${oneLine(t.notBound[0])}).` : ""), "");
  }
  lines.push("What limits the gain: wrk, the edge workers and (tunnel) the agent and the upstream share the same cores. " +
    "Edge only, one worker uses one core at most and a second adds what wrk leaves of the other (ceiling ≈ 2 − wrk's cores busy, on 2 cores). " +
    "Through the tunnel one worker already has edge, agent, upstream and wrk competing for every core: a second worker adds no CPU, " +
    "the one agent still carries every request, and the edge's CPU per request is compared in the last column. " +
    "\"others\" is the rest of the machine meanwhile: a run where it is well above 0 is noisy, and there 2 processes also get a larger share of the CPU than 1 " +
    "(and a process pinned to one CPU a small, erratic one), a gain that is not scaling.", "");
  return lines;
}

/** Failed/sent, longest gap, and what failed when (ms after the kill). @param {any} x */
function pacedCell(x) {
  if (!x.failed) return `${x.failed}/${x.sent}, ${fmtMs(x.longestGapMs)}`;
  const what = Object.entries(x.statuses).filter(([k]) => !k.startsWith("2")).map(([k, n]) => `${k}: ${n}`).join(", ");
  const when = (x.failures ?? []).map((/** @type {any} */ f) => `sent ${f.sentMs} ms, answered ${f.answeredMs} ms`).join("; ");
  return `${x.failed}/${x.sent}, ${fmtMs(x.longestGapMs)} (${oneLine(what)}${when ? `; ${oneLine(when)}` : ""})`;
}

/** @param {string} name @param {number | undefined} value @param {(v: number) => boolean} test @param {(v: number) => string} show */
function goal(name, value, test, show) {
  return value === undefined ? { goal: name, measured: "not measured", met: undefined } : { goal: name, measured: show(value), met: test(value), value };
}

/** An open loop whose generator could not keep up with the rate measured an overloaded target, not latency at that rate. */
function overloaded(/** @type {any} */ o) {
  return !o || o.error || o.achievedRate < 0.95 * o.targetRate || o.errors > 0 || o.unanswered > 0;
}

/** @param {any} o */
function openLoopCell(o) {
  if (!o) return "—";
  if (o.error) return `failed: ${oneLine(o.error)}`;
  const notes = [];
  if (o.achievedRate < 0.95 * o.targetRate) notes.push(`overloaded: ${fmtInt(o.achievedRate)}/s answered`);
  if (o.errors > 0) notes.push(`${o.errors} errors`);
  if (o.unanswered > 0) notes.push(`${o.unanswered} unanswered`);
  const note = notes.length ? ` (${notes.join(", ")})` : "";
  return `${fmtMs(num(o.p99Ms))} / ${fmtMs(num(o.p999Ms))}${note}`;
}

/** The open-loop sweep: p99 / p99.9 of nginx (2 hops) and onramp at 25/50/75% of onramp's max. @param {Record<string, any>} r */
function renderSweep(r) {
  const sw = r.sweep;
  if (!sw || (!sw.onramp && !sw.nginx2)) return [];
  const s = r.settings;
  const lines = [`Open-loop sweep: ${sw.fractions.map((/** @type {number} */ f) => `${f * 100}%`).join(", ")} of ${sw.source}'s max (${fmtInt(sw.maxRps)} req/s, wrk), ` +
    `${s.openLoop.durationS} s each${s.repeat > 1 ? `, median p99 of ${s.repeat} runs` : ""}; the 50% runs are the main table's open loop for these two.`, "",
    "| rate | nginx 2 hops p99 / p99.9 | onramp p99 / p99.9 | onramp p99 ÷ nginx-2-hops p99 |", "|--:|--:|--:|--:|"];
  sw.rates.forEach((/** @type {number} */ rate, /** @type {number} */ i) => {
    const n = sw.nginx2?.[i];
    const o = sw.onramp?.[i];
    const ok = (/** @type {any} */ x) => (overloaded(x) ? undefined : num(x.p99Ms));
    lines.push(`| ${fmtInt(rate)}/s (${sw.fractions[i] * 100}%) | ${openLoopCell(n)} | ${openLoopCell(o)} | ${fmtX(div(ok(o), ok(n)))} |`);
  });
  lines.push("");
  return lines;
}

/** onramp's mean latency split by hop, from the client's open loop and the edge's and agent's histograms. @param {any} h */
function renderHops(h) {
  if (!h) return [];
  if (h.error) return [`Per-hop latency: failed: ${oneLine(h.error)}`, ""];
  const g = h.segmentsMs;
  const ms = (/** @type {number} */ v) => (Number.isFinite(v) ? `${v.toFixed(3)} ms` : "—");
  return [`Per-hop latency (onramp, open loop at ${fmtInt(h.rate)}/s, means): client ${ms(h.client.meanMs)} (p99 ${fmtMs(num(h.client.p99Ms))}), ` +
    `edge's request duration ${ms(h.edge.meanMs)} (${fmtInt(h.edge.count)} requests), agent's upstream duration ${ms(h.agent.meanMs)}, ` +
    `upstream direct at the same rate ${ms(h.direct.meanMs)} (${h.direct.source}).` +
    (overloaded(h.client) ? ` **The open loop fell behind (${fmtInt(num(h.client.achievedRate))}/s answered of ${fmtInt(h.rate)}/s): the client's mean, and so client → edge, includes its own backlog.**` : "") +
    (overloaded(h.direct) ? " The upstream's open loop fell behind too." : ""), "",
    "| client → edge (network + edge parsing) | edge → agent hop | agent → upstream | upstream itself |", "|--:|--:|--:|--:|",
    `| ${ms(g.clientToEdge)} | ${ms(g.edgeToAgent)} | ${ms(g.agentToUpstream)} | ${ms(g.upstream)} |`, ""];
}

/** Allocation, GC and event-loop delay per onramp process under the main row's wrk load. @param {any} a @param {any} s */
function renderAlloc(a, s) {
  if (!a) return [];
  if (a.error) return [`Allocation: failed: ${oneLine(a.error)}`, ""];
  const lines = [`Allocation and stalls (onramp, \`wrk -t${s.wrk.threads} -c${s.wrk.connections} -d${s.wrk.durationS}s\`, one run, ${fmtInt(a.rps)} req/s, ` +
    `${fmtInt(a.requests)} requests${a.non2xx ? `, ${a.non2xx} errors` : ""}; \`lib/process-probe.cjs\`: v8.GCProfiler and monitorEventLoopDelay):`, "",
    "| process | allocated per request | promoted per request | scavenges | mark-compacts | GC pause ms/s | event-loop delay p99 | max |", "|---|--:|--:|--:|--:|--:|--:|--:|"];
  for (const [name, p] of Object.entries(a.processes ?? {})) {
    lines.push(`| ${name} | ${(p.bytesPerRequest / KB).toFixed(2)} KB | ${p.promotedPerRequest === undefined ? "n/a" : `${fmtInt(p.promotedPerRequest)} B`} | ${p.scavenges} | ${p.markCompacts} | ${p.gcPauseMsPerS.toFixed(1)} | ` +
      `${fmtMs(p.eventLoopDelay.p99Ms)} | ${fmtMs(p.eventLoopDelay.maxMs)} |`);
  }
  lines.push("");
  return lines;
}

/** @param {any} x */
function transferCell(x) {
  if (!x) return "—";
  if (x.complete) return x.mbPerS.toFixed(1);
  return `${x.mbPerS.toFixed(1)} (incomplete: ${oneLine(x.error ?? "")})`;
}

/** Only a completed transfer counts toward a goal. @param {any} x */
function transferRate(x) {
  return x?.complete ? num(x.mbPerS) : undefined;
}

/** @param {unknown} v @returns {number | undefined} */
function num(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
/** @param {number | undefined} a @param {number | undefined} b */
function div(a, b) {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}
/** @param {number | undefined} v */
function fmtInt(v) {
  return v === undefined ? "—" : Math.round(v).toLocaleString("en-US");
}
/** @param {number | undefined} v */
function fmtMs(v) {
  return v === undefined ? "—" : v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(1)} ms`;
}
/** @param {number | undefined} v */
function fmtPct(v) {
  return v === undefined ? "—" : `${(v * 100).toFixed(0)}%`;
}
/** @param {number | undefined} v */
function fmtX(v) {
  return v === undefined ? "—" : `${v.toFixed(2)}×`;
}
/** @param {number} bytes */
function mib(bytes) {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
/** @param {unknown} s */
function oneLine(s) {
  return String(s ?? "").split("\n")[0].replaceAll("|", "\\|").slice(0, 120);
}

/**
 * How an overhead figure was taken (lib/interleaved.mjs).
 * @param {{ rounds?: number, sliceS?: number }} m
 */
function interleaving(m) {
  return `each variant and its baseline up at once, ${m.rounds} wrk slices of ${m.sliceS} s of the variant, each between two of the baseline's; ` +
    "req/s are median slices, a percentage is the median of (a variant's slice ÷ the mean of the baseline slices around it)";
}

/**
 * Each slice's ratio to the baseline slices around it (", slices 81%, 86%, 90%"), so a reader sees
 * how far one strays from the median; "" with fewer than two.
 * @param {number[] | undefined} ratios
 */
function pairs(ratios) {
  if (!ratios || ratios.length < 2) return "";
  return `; slices ${ratios.map((r) => `${(r * 100).toFixed(0)}%`).join(", ")}`;
}
