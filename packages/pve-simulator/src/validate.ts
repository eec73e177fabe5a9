import type { MethodSchema, ParamSchema } from "./schema.js";

const BOOLEAN = /^(1|0|true|false|yes|no|on|off)$/i;
const FORMATS: Record<string, { test: (value: string) => boolean; message: string }> = {
  "pve-node": { test: (v) => /^(?=.{1,63}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v), message: "value does not look like a valid node name" },
  "pve-storage-id": { test: (v) => /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v), message: "storage ID '{v}' contains illegal characters" },
  "pve-configid": { test: (v) => /^[a-z][a-z0-9_]*$/i.test(v), message: "invalid configuration ID '{v}'" },
  "pve-poolid": { test: (v) => /^[A-Za-z0-9\-_]+$/.test(v), message: "pool name '{v}' contains illegal characters" },
  "dns-name": { test: (v) => /^(?=.{1,255}$)([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v), message: "value does not look like a valid DNS name" },
};

/**
 * Checks request parameters the way PVE's JSONSchema validator does, with its wording. Returns
 * the per-parameter errors PVE puts in the `errors` object of a 400 "Parameter verification failed."
 * and the values coerced to their types.
 */
export function validateParams(schema: MethodSchema, input: Record<string, string>): { errors: Record<string, string>; values: Record<string, string | number | boolean> } {
  const errors: Record<string, string> = {};
  const values: Record<string, string | number | boolean> = {};
  for (const name of Object.keys(input)) {
    if (!(name in schema.params) && !schema.additionalProperties) errors[name] = "property is not defined in schema and the schema does not allow additional properties";
  }
  for (const [name, param] of Object.entries(schema.params)) {
    const raw = input[name];
    if (raw === undefined) {
      if (!param.optional) errors[name] = "property is missing and it is not optional";
      continue;
    }
    const checked = checkValue(param, raw);
    if (typeof checked === "object") errors[name] = checked.error;
    else values[name] = checked;
  }
  return { errors, values };
}

function checkValue(param: ParamSchema, raw: string): string | number | boolean | { error: string } {
  switch (param.type) {
    case "integer":
      if (!/^-?\d+$/.test(raw)) return { error: `type check ('integer') failed - got '${raw}'` };
      return range(param, Number(raw));
    case "number":
      if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(raw)) return { error: `type check ('number') failed - got '${raw}'` };
      return range(param, Number(raw));
    case "boolean":
      if (!BOOLEAN.test(raw)) return { error: `type check ('boolean') failed - got '${raw}'` };
      return /^(1|true|yes|on)$/i.test(raw);
    default: {
      if (param.enum && !param.enum.includes(raw)) return { error: `value '${raw}' does not have a value in the enumeration '${param.enum.join(", ")}'` };
      if (param.maxLength !== undefined && raw.length > param.maxLength) return { error: `value may only be ${param.maxLength} characters long` };
      if (param.minLength !== undefined && raw.length < param.minLength) return { error: `value must be at least ${param.minLength} characters long` };
      if (param.pattern && !new RegExp(`^${param.pattern}$`).test(raw)) return { error: `value does not match the regex pattern` };
      const format = typeof param.format === "string" ? FORMATS[param.format] : undefined;
      if (format && !format.test(raw)) return { error: `invalid format - ${format.message.replace("{v}", raw)}` };
      return raw;
    }
  }
}

function range(param: ParamSchema, value: number): number | { error: string } {
  if (param.minimum !== undefined && value < Number(param.minimum)) return { error: `value must have a minimum value of ${param.minimum}` };
  if (param.maximum !== undefined && value > Number(param.maximum)) return { error: `value must have a maximum value of ${param.maximum}` };
  return value;
}
