// Writes docs/openapi.json: the registry API's OpenAPI document, generated from the route table
// of the built service (run `npx tsc -b` first). services/registry's openapi.test.ts fails when
// the checked-in file differs from what this writes.
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { openApiDocument } from "../services/registry/dist/index.js";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const file = join(root, "docs", "openapi.json");
writeFileSync(file, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
console.log(`wrote ${file}`);
