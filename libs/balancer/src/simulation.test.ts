import { describe, expect, it } from "vitest";
import { type MemberInfo, Pool } from "./index.js";
import { expectPick, member, mulberry32 } from "./test-fixtures.js";

/**
 * Thousands of picks through a pool with seeded randomness, with a window of requests in flight
 * that finish in random order (concurrent load, so two-choices has loads to compare). Shares are
 * checked against bounds, not exact values. BALANCER_SIM_VERBOSE=1 prints the tables.
 */

const PICKS = 20_000;
const IN_FLIGHT = 16;
const verbose = Boolean(process.env.BALANCER_SIM_VERBOSE);

interface Run {
  /** Share of picks per tier. */
  readonly tiers: [number, number, number];
  /** Share of picks per member id. */
  readonly members: Map<string, number>;
}

function simulate(pool: Pool<MemberInfo>, seed: number): Run {
  const random = mulberry32(seed);
  const tiers: [number, number, number] = [0, 0, 0];
  const members = new Map<string, number>();
  const inFlight: (() => void)[] = [];
  for (let i = 0; i < PICKS; i++) {
    const result = expectPick(pool.pick(undefined, 0));
    tiers[result.tier] += 1 / PICKS;
    members.set(result.member.id, (members.get(result.member.id) ?? 0) + 1 / PICKS);
    inFlight.push(result.release);
    if (inFlight.length >= IN_FLIGHT) inFlight.splice(Math.floor(random() * inFlight.length), 1)[0]!();
  }
  for (const release of inFlight) release();
  return { tiers, members };
}

/** 5 members on this edge, 5 on other edges of the region, 5 in another region. */
function meshPool(seed: number): Pool<MemberInfo> {
  const pool = new Pool<MemberInfo>({ localEdge: "edge-1", localRegion: "eu", random: mulberry32(seed) });
  for (let i = 0; i < 5; i++) pool.add(member(`near-${i}`, "edge-1", "eu"));
  for (let i = 0; i < 5; i++) pool.add(member(`region-${i}`, `edge-${2 + (i % 2)}`, "eu"));
  for (let i = 0; i < 5; i++) pool.add(member(`far-${i}`, "edge-9", "us"));
  return pool;
}

const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;

/** "min–max" share of the members whose id starts with `prefix` and got any picks, for the table. */
function spread(run: Run, prefix: string): string {
  const shares = [...run.members].filter(([id]) => id.startsWith(prefix)).map(([, share]) => share);
  if (shares.length === 0) return "      –      ";
  return `${pct(Math.min(...shares))}–${pct(Math.max(...shares))}`;
}

/** Checks that picks spread evenly over the members with the given prefix: each within ±25 % of its fair share. */
function expectEvenSpread(run: Run, prefix: string, tierShare: number, count: number): void {
  if (tierShare < 0.05) return;
  const fair = tierShare / count;
  for (const [id, share] of run.members) {
    if (!id.startsWith(prefix)) continue;
    expect(share, id).toBeGreaterThan(fair * 0.75);
    expect(share, id).toBeLessThan(fair * 1.25);
  }
}

describe("simulation: spill-over as this edge's members fail", () => {
  for (const regionHealthy of [5, 2]) {
    it(`follows the tier loads with ${regionHealthy} of 5 region members healthy`, () => {
      const rows: string[] = [`region members healthy: ${regionHealthy}/5`, "near healthy | near   region far    | expected: near region far | per near member | per region member"];
      for (let healthy = 5; healthy >= 0; healthy--) {
        const pool = meshPool(healthy + 10 * regionHealthy);
        for (let i = healthy; i < 5; i++) pool.setHealthy(`near-${i}`, false);
        for (let i = regionHealthy; i < 5; i++) pool.setHealthy(`region-${i}`, false);
        const run = simulate(pool, 99 + healthy);
        // Envoy's priority load with overprovisioning 1.4; the far tier is whole, so the
        // healths add up to at least 1 and need no normalising.
        const near = Math.min(1, (1.4 * healthy) / 5);
        const region = Math.min(1 - near, Math.min(1, (1.4 * regionHealthy) / 5));
        const expected = [near, region, 1 - near - region];
        rows.push(`${String(healthy).padStart(12)} | ${run.tiers.map(pct).join(" ")} | ${expected.map(pct).join(" ")}      | ${spread(run, "near-")}   | ${spread(run, "region-")}`);
        run.tiers.forEach((share, tier) => {
          expect(share, `tier ${tier} with ${healthy} healthy`).toBeGreaterThan(expected[tier]! - 0.02);
          expect(share, `tier ${tier} with ${healthy} healthy`).toBeLessThan(expected[tier]! + 0.02);
        });
        expectEvenSpread(run, "near-", run.tiers[0], healthy);
        expectEvenSpread(run, "region-", run.tiers[1], regionHealthy);
        expectEvenSpread(run, "far-", run.tiers[2], 5);
        for (let i = healthy; i < 5; i++) expect(run.members.get(`near-${i}`)).toBeUndefined();
      }
      if (verbose) console.log(rows.join("\n"));
    });
  }
});

describe("simulation: weights", () => {
  it("shares traffic in proportion to weight, under concurrent load", () => {
    const pool = new Pool<MemberInfo>({ localEdge: "edge-1", random: mulberry32(5) });
    const weights = [1, 2, 3, 4];
    weights.forEach((weight, i) => pool.add(member(`w${weight}-${i}`, "edge-1", "eu", weight)));
    const run = simulate(pool, 6);
    const rows = ["member | share  | expected"];
    for (const [i, weight] of weights.entries()) {
      const id = `w${weight}-${i}`;
      const share = run.members.get(id) ?? 0;
      rows.push(`${id.padStart(6)} | ${pct(share)} | ${pct(weight / 10)}`);
      expect(share, id).toBeGreaterThan(weight / 10 - 0.03);
      expect(share, id).toBeLessThan(weight / 10 + 0.03);
    }
    if (verbose) console.log(rows.join("\n"));
  });

  it("keeps an even spread over equal members when one is much busier elsewhere", () => {
    const pool = new Pool<MemberInfo>({ localEdge: "edge-1", localRegion: "eu", random: mulberry32(8) });
    for (let i = 0; i < 4; i++) pool.add(member(`r${i}`, "edge-2", "eu"));
    pool.setReportedLoad("r0", 1_000);
    const run = simulate(pool, 9);
    expect(run.members.get("r0") ?? 0).toBeLessThan(0.01);
    for (const id of ["r1", "r2", "r3"]) {
      expect(run.members.get(id), id).toBeGreaterThan(0.25);
      expect(run.members.get(id), id).toBeLessThan(0.42);
    }
  });
});
