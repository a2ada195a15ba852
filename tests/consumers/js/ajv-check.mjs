// Our published schemas through ajv as consumers run it: Ajv2020, ajv-formats, strict
// mode at its defaults (anything it would log is a failure here) and fully on.
//
// Input (a file named by argv[2]): {"schemas": {"<file>": <schema>}, "cases":
// [{"schema": "<file>", "text": "<JSON text>"}]}. Each schema is compiled alone: a
// schema that needs another file to compile is not self-contained for a consumer.
// Output (stdout): {"compiled": {"<file>": {"defaults": [messages], "strict": [messages]}},
// "together": [messages of all the schemas in one instance], "verdicts": [{"valid":
// bool, "errors": [messages]}], in the order of the cases.
import { readFileSync } from "node:fs";
import Ajv2020Module from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const addFormats = addFormatsModule.default ?? addFormatsModule;

function instance(options, messages) {
  const record = (level) => (...parts) => messages.push(`${level}: ${parts.join(" ")}`);
  const ajv = new Ajv2020({ ...options, logger: { log() {}, warn: record("warn"), error: record("error") } });
  addFormats(ajv);
  return ajv;
}

function compile(schema, options) {
  const messages = [];
  let validate = null;
  try {
    validate = instance(options, messages).compile(schema);
  } catch (error) {
    messages.push(`compile: ${error.message}`);
  }
  return { messages, validate };
}

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const compiled = {};
const validators = {};
for (const [file, schema] of Object.entries(input.schemas)) {
  const defaults = compile(schema, {});
  const strict = compile(schema, { strict: true });
  compiled[file] = { defaults: defaults.messages, strict: strict.messages };
  validators[file] = defaults.validate;
}
// As many consumers load them: every schema in one instance, found by its $id. A copy
// that kept the $id of the schema it copies would clash here.
const together = [];
try {
  const ajv = instance({}, together);
  for (const schema of Object.values(input.schemas)) ajv.addSchema(schema);
  for (const schema of Object.values(input.schemas)) ajv.getSchema(schema.$id);
} catch (error) {
  together.push(`compile: ${error.message}`);
}
const verdicts = input.cases.map(({ schema, text }) => {
  const validate = validators[schema];
  if (validate === null) return { valid: false, errors: ["schema did not compile"] };
  const valid = validate(JSON.parse(text));
  const errors = (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath} ${e.message}`);
  return { valid, errors };
});
process.stdout.write(JSON.stringify({ compiled, together, verdicts }));
