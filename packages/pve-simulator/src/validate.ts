import { checkFormat } from "./formats.js";
import type { MethodSchema, ParamSchema } from "./schema.js";

/**
 * A parameter as it reached pveproxy: a string (query string, form body), an array (a repeated
 * key) or any JSON value (application/json body).
 */
export type RawValue = string | number | boolean | null | RawValue[] | { [key: string]: RawValue };
export type Value = string | number | boolean | string[];

const isNumber = (value: string) => /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(value);
const isInteger = (value: string) => /^[+-]?\d+$/.test(value);

/** Perl's name for what a non-scalar value is, as PVE prints it in "type check ... - got X". */
function perlRef(value: RawValue): string | undefined {
  if (Array.isArray(value)) return "ARRAY";
  if (typeof value === "object" && value !== null) return "HASH";
  if (typeof value === "boolean") return "JSON::PP::Boolean";
  return undefined;
}

/**
 * `PVE::JSONSchema::validate` over an API method's parameters, with PVE's messages and order of
 * checks (type, format, pattern, maxLength, minLength, minimum/maximum, enum). Returns the
 * per-parameter errors PVE reports in a 400 "Parameter verification failed." and the values
 * typed as the handler sees them.
 */
export function validateParams(schema: MethodSchema, input: Record<string, RawValue | undefined>): { errors: Record<string, string>; values: Record<string, Value> } {
  const errors: Record<string, string> = {};
  const values: Record<string, Value> = {};
  const add = (name: string, message: string) => (errors[name] = errors[name] ? `${errors[name]}\\n${message}` : message);

  for (const [name, param] of Object.entries(schema.params)) {
    let raw = input[name];
    // RESTHandler's legacy normalisation: an array given for a "-list" string becomes a comma list.
    if (Array.isArray(raw) && param.type === "string" && param.format?.endsWith("-list")) raw = raw.join(",");
    if (raw === undefined || raw === null) {
      if (!param.optional) add(name, "property is missing and it is not optional");
      continue;
    }
    const checked = checkValue(param, raw);
    if (typeof checked === "object" && !Array.isArray(checked)) add(name, checked.error);
    else values[name] = checked;
  }
  for (const name of Object.keys(input)) {
    if (!(name in schema.params) && !schema.additionalProperties) add(name, "property is not defined in schema and the schema does not allow additional properties");
  }
  return { errors, values };
}

function checkValue(param: ParamSchema, raw: RawValue): Value | { error: string } {
  if (param.type === "array") return (Array.isArray(raw) ? raw : [raw]).map((item) => String(item));
  const ref = perlRef(raw);
  if (ref && !(param.type === "boolean" && typeof raw === "boolean")) return { error: `type check ('${param.type}') failed - got ${ref}` };
  if (typeof raw === "boolean") return raw; // a JSON boolean for a boolean parameter
  const text = String(raw);
  switch (param.type) {
    case "boolean":
      if (text !== "1" && text !== "0") return { error: `type check ('boolean') failed - got '${text}'` };
      break;
    case "integer":
      if (!isInteger(text)) return { error: `type check ('integer') failed - got '${text}'` };
      break;
    case "number":
      if (!isNumber(text)) return { error: `type check ('number') failed - got '${text}'` };
      break;
    default:
      break;
  }
  if (param.format) {
    const formatError = checkFormat(param.format, text);
    if (formatError) return { error: `invalid format - ${formatError}\n` };
  }
  if (param.pattern && !new RegExp(`^(?:${param.pattern})$`).test(text)) return { error: "value does not match the regex pattern" };
  if (param.maxLength !== undefined && text.length > param.maxLength) return { error: `value may only be ${param.maxLength} characters long` };
  if (param.minLength !== undefined && text.length < param.minLength) return { error: `value must be at least ${param.minLength} characters long` };
  if (isNumber(text)) {
    if (param.maximum !== undefined && Number(text) > Number(param.maximum)) return { error: `value must have a maximum value of ${param.maximum}` };
    if (param.minimum !== undefined && Number(text) < Number(param.minimum)) return { error: `value must have a minimum value of ${param.minimum}` };
  }
  if (param.enum && !param.enum.includes(text)) return { error: `value '${text}' does not have a value in the enumeration '${param.enum.join(", ")}'` };
  if (param.type === "boolean") return text === "1";
  if (param.type === "integer" || param.type === "number") return Number(text);
  return text;
}
