import { ErrorCode, OnrampError } from "@onramp/errors";
import { chmodSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { Document, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";

/**
 * Changes to the agent config made by `onramp config add-…`. The file is edited as a YAML
 * document, not rewritten from values, so the user's comments, order and other settings stay.
 * It holds the authtoken, so a new file is 0600 in a 0700 folder, and every write leaves it 0600.
 */

export function saveAuthtoken(path: string, token: string): void {
  editConfig(path, (doc) => {
    doc.set("authtoken", token);
  });
}

/** Appends `address` to `edges:`; false when it is already there (or under the older `edge:`). */
export function addEdge(path: string, address: string): boolean {
  let added = false;
  editConfig(path, (doc) => {
    const known = [...addressesIn(doc.get("edge", true) as Node | undefined), ...addressesIn(doc.get("edges", true) as Node | undefined)];
    if (known.includes(address)) return;
    const edges = doc.get("edges", true) as Node | undefined;
    if (isSeq(edges)) edges.add(doc.createNode(address));
    else doc.set("edges", doc.createNode([...addressesIn(edges), address]));
    added = true;
  });
  return added;
}

function addressesIn(node: Node | undefined | null): string[] {
  if (isSeq(node)) return node.items.flatMap((item) => (isScalar(item) && item.value !== null ? [String(item.value)] : []));
  return isScalar(node) && node.value !== null ? [String(node.value)] : [];
}

function editConfig(path: string, edit: (doc: Document) => void): void {
  const text = readIfPresent(path);
  const lines = new LineCounter();
  const doc = text === undefined ? new Document({}) : parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const { line, col } = lines.linePos(first.pos[0]);
    throw new OnrampError(ErrorCode.InvalidArgument, `${path}:${line}:${col}: YAML syntax error: ${first.message.split("\n")[0]}; fix it before changing the file with onramp config`);
  }
  const contents = doc.contents as Node | null;
  if (contents !== null && !(isScalar(contents) && contents.value === null) && !isMap(contents)) {
    throw new OnrampError(ErrorCode.InvalidArgument, `${path}: the top level must be a mapping of settings; fix it before changing the file with onramp config`);
  }
  // An empty or comments-only file parses to no contents; the settings go into a new mapping.
  if (!isMap(contents)) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
  edit(doc);
  write(path, doc.toString());
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new OnrampError(ErrorCode.InvalidArgument, `cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Writes next to the real file and renames over it, so a crash never leaves half a config; a
 * config that is a symlink (dotfile managers) keeps being one, as the rename lands on its target.
 */
function write(path: string, text: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const target = realTarget(path);
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, text, { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, target);
  } catch (err) {
    throw new OnrampError(ErrorCode.InvalidArgument, `cannot write config file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function realTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
