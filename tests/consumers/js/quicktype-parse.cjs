// Documents through the converters quicktype generated (TypeScript with runtime type
// checks, compiled by tsc), as a TypeScript consumer parses them: `Convert.toX(json)`.
//
// Input (a file named by argv[2]): {"modules": {"<schema file>": {"path": "<compiled
// module>", "convert": "toX"}}, "cases": [{"schema": "<file>", "text": "<JSON text>",
// "integers": [["<JSON pointer>", "<decimal digits>"]]}]}.
// Output (stdout): one result per case, in order: {"error": message or null,
// "not_integers": [pointers whose value is no JavaScript integer], "inexact":
// [pointers whose value is not the number the document wrote]}.
"use strict";
const { readFileSync } = require("node:fs");

function at(value, pointer) {
  for (const token of pointer.split("/").slice(1)) {
    const key = token.replace(/~1/g, "/").replace(/~0/g, "~");
    if (value === null || typeof value !== "object" || !(key in value)) return undefined;
    value = value[key];
  }
  return value;
}

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const converters = {};
for (const [schema, { path, convert }] of Object.entries(input.modules)) {
  converters[schema] = require(path).Convert[convert];
}
const results = input.cases.map(({ schema, text, integers }) => {
  let parsed;
  try {
    parsed = converters[schema](text);
  } catch (error) {
    return { error: String(error.message).slice(0, 500), not_integers: [], inexact: [] };
  }
  const notIntegers = [];
  const inexact = [];
  for (const [pointer, digits] of integers) {
    const value = at(parsed, pointer);
    if (!Number.isInteger(value)) notIntegers.push(pointer);
    else if (BigInt(value).toString() !== digits) inexact.push(pointer);
  }
  return { error: null, not_integers: notIntegers, inexact };
});
process.stdout.write(JSON.stringify(results));
