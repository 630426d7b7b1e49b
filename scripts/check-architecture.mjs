// Fails when the code breaks the layering DESIGN.md draws, or has an import cycle:
//   libs/*     may import other libs, never services or the CLI
//   services/* may import libs, never another service or the CLI
//   cli        composes everything
// and no cycle among packages, or among the modules of one package (STYLE.md 15).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const workspaces = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).workspaces;
const packages = new Map(
  workspaces.map((dir) => [JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")).name, dir]),
);
const layerOf = (dir) => dir.split("/")[0]; // libs | services | cli
const problems = [];

// Package layering, from what each package's sources actually import.
const importsOf = (file) =>
  [...readFileSync(file, "utf8").matchAll(/(?:^|\n)\s*(?:import|export)[^"';]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map(
    (m) => m[1] ?? m[2],
  );
const sources = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "gen" ? [] : sources(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });

const packageGraph = new Map();
for (const [name, dir] of packages) {
  const deps = new Set();
  const files = sources(join(root, dir, "src"));
  const moduleGraph = new Map();
  for (const file of files) {
    const local = [];
    for (const spec of importsOf(file)) {
      if (spec.startsWith(".")) local.push(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
      else if (packages.has(spec)) deps.add(spec);
    }
    moduleGraph.set(file, local);
  }
  packageGraph.set(name, [...deps]);
  for (const dep of deps) {
    const from = layerOf(dir);
    const to = layerOf(packages.get(dep));
    if ((from === "libs" && to !== "libs") || (from === "services" && to !== "libs")) {
      problems.push(`${dir} imports ${dep} (${packages.get(dep)}): ${from} may import only libs`);
    }
  }
  for (const cycle of cycles(moduleGraph)) problems.push(`import cycle in ${dir}: ${cycle.map((f) => relative(root, f)).join(" → ")}`);
}
for (const cycle of cycles(packageGraph)) problems.push(`package cycle: ${cycle.join(" → ")}`);

/** Every cycle found by depth-first search, each as the path that closes it. */
function cycles(graph) {
  const found = [];
  const state = new Map(); // 1 visiting, 2 done
  const stack = [];
  const visit = (node) => {
    state.set(node, 1);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 1) found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 2);
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

if (problems.length > 0) {
  for (const p of problems) console.error(`architecture: ${p}`);
  process.exit(1);
}
console.log(`architecture: ${packages.size} packages, layering and import graph ok`);
