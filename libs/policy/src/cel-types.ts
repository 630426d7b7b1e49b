import type { CelType } from "@bufbuild/cel";

/**
 * The static types Onramp's CEL checker (cel-check.ts) works with. `@bufbuild/cel` plans and runs
 * expressions but its own checker only types constants and identifiers, so Onramp infers types
 * itself, from these declarations and from the signatures of the functions in the environment.
 *
 * `dyn` is the escape hatch: anything is accepted where `dyn` is, and an expression is rejected
 * only when its types cannot work at run time whatever the request holds.
 */
export type Ty =
  | { readonly kind: "dyn" }
  /** `int`, `uint`, `double`, `bool`, `string`, `bytes`, `null_type`, `type`, `timestamp`, `duration`. */
  | { readonly kind: "prim"; readonly name: string }
  | { readonly kind: "list"; readonly elem: Ty }
  | { readonly kind: "map"; readonly key: Ty; readonly value: Ty }
  /**
   * An object with known fields, a map at run time. With `stringForm`, it is also a string (ngrok's
   * `req.user_agent`, `conn.client_ip`): the checker rewrites every use of it other than reading a
   * field into a read of its `STRING_FORM_KEY` entry, so `req.user_agent.contains('curl')` and
   * `req.user_agent.is_bot` both work.
   */
  | { readonly kind: "record"; readonly name: string; readonly fields: Readonly<Record<string, Ty>>; readonly stringForm: boolean }
  /** Declared by ngrok but not available in Onramp: any use is an error at load, saying why. */
  | { readonly kind: "unsupported"; readonly reason: string };

/** The map key under which a record with `stringForm` holds its string value at run time. */
export const STRING_FORM_KEY = "$str";

export const DYN: Ty = { kind: "dyn" };
const prims = new Map<string, Ty>();
export function prim(name: string): Ty {
  let t = prims.get(name);
  if (t === undefined) prims.set(name, (t = { kind: "prim", name }));
  return t;
}
export const STRING = prim("string");
export const INT = prim("int");
export const BOOL = prim("bool");
export const TIMESTAMP = prim("timestamp");
export const DURATION = prim("duration");
export const listOf = (elem: Ty): Ty => ({ kind: "list", elem });
export const mapOf = (key: Ty, value: Ty): Ty => ({ kind: "map", key, value });
export function record(name: string, fields: Record<string, Ty>, opts: { stringForm?: boolean } = {}): Ty {
  return { kind: "record", name, fields, stringForm: opts.stringForm ?? false };
}
export const unsupported = (reason: string): Ty => ({ kind: "unsupported", reason });

const OBJECT_NAMES: Readonly<Record<string, string>> = {
  "google.protobuf.Timestamp": "timestamp",
  "google.protobuf.Duration": "duration",
};

/** The checker's view of a function signature's type. */
export function fromCelType(t: CelType): Ty {
  switch (t.kind) {
    case "scalar":
      return t.scalar === "dyn" ? DYN : prim(t.scalar);
    case "list":
      return listOf(fromCelType(t.element));
    case "map":
      return mapOf(fromCelType(t.key), fromCelType(t.value));
    case "object": {
      const name = OBJECT_NAMES[t.desc?.typeName ?? t.name];
      return name === undefined ? DYN : prim(name);
    }
  }
}

export function typeName(t: Ty): string {
  switch (t.kind) {
    case "dyn":
      return "dyn";
    case "prim":
      return t.name;
    case "list":
      return `list(${typeName(t.elem)})`;
    case "map":
      return `map(${typeName(t.key)}, ${typeName(t.value)})`;
    case "record":
      return t.stringForm ? "string" : `map(string, dyn)`;
    case "unsupported":
      return "unsupported";
  }
}

/** Whether a value of static type `actual` can be what a parameter of type `param` accepts at run time. */
export function compatible(actual: Ty, param: Ty): boolean {
  if (actual.kind === "dyn" || param.kind === "dyn" || actual.kind === "unsupported") return true;
  switch (param.kind) {
    case "prim":
      return actual.kind === "prim" ? actual.name === param.name : actual.kind === "record" && actual.stringForm && param.name === "string";
    case "list":
      return actual.kind === "list" && compatible(actual.elem, param.elem);
    case "map":
      if (actual.kind === "record") return !actual.stringForm;
      return actual.kind === "map" && compatible(actual.key, param.key) && compatible(actual.value, param.value);
    default:
      return false;
  }
}

export function sameType(a: Ty, b: Ty): boolean {
  if (a.kind === "record" || b.kind === "record") return a === b;
  return typeName(a) === typeName(b);
}

/** The types of a comprehension's variables over `t` (`x` or `k, v`), or undefined if `t` cannot be iterated. */
export function iterationTypes(t: Ty, twoVars: boolean): readonly [Ty, Ty] | undefined {
  switch (t.kind) {
    case "dyn":
    case "unsupported":
      return [DYN, DYN];
    case "list":
      return twoVars ? [INT, t.elem] : [t.elem, DYN];
    case "map":
      return [t.key, t.value];
    case "record":
      return t.stringForm ? undefined : [STRING, DYN];
    default:
      return undefined;
  }
}
