import { readFileSync } from "node:fs";

export interface ParamSchema {
  type: "string" | "integer" | "boolean" | "number" | "array";
  optional?: boolean | number;
  enum?: string[];
  minimum?: number | string;
  maximum?: number | string;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  format?: string | Record<string, unknown>;
  default?: unknown;
}

export interface MethodSchema {
  params: Record<string, ParamSchema>;
  additionalProperties: boolean | number;
  returns: string;
}

export type ApiSchema = Record<string, Partial<Record<"GET" | "POST" | "PUT" | "DELETE", MethodSchema>>>;

/** The real PVE 9 parameter schema of the endpoints the simulator serves. */
export const API_SCHEMA: ApiSchema = JSON.parse(readFileSync(new URL("../pve-api-subset.json", import.meta.url), "utf8")) as ApiSchema;

const templates = Object.keys(API_SCHEMA).map((template) => ({
  template,
  regex: new RegExp(`^${template.replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}$`),
}));

/** `/nodes/pve1/qemu/100/status/start` → its template and the path parameters. */
export function matchPath(path: string): { template: string; params: Record<string, string> } | undefined {
  for (const { template, regex } of templates) {
    const match = regex.exec(path);
    if (match) return { template, params: Object.fromEntries(Object.entries(match.groups ?? {}).map(([key, value]) => [key, decodeURIComponent(value)])) };
  }
  return undefined;
}
