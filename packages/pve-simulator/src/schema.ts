import { readFileSync } from "node:fs";

export interface ParamSchema {
  type: "string" | "integer" | "boolean" | "number" | "array" | "object";
  optional?: boolean | number;
  enum?: string[];
  minimum?: number | string;
  maximum?: number | string;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
}

export interface MethodSchema {
  params: Record<string, ParamSchema>;
  additionalProperties: boolean | number;
  returns: string;
  allowtoken: number;
  protected: boolean | number;
  proxyto: string | null;
}

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";
export type ApiSchema = Record<string, Partial<Record<HttpMethod, MethodSchema>>>;

/**
 * The real PVE 9 parameter schema of the endpoints the simulator knows, as shipped at the
 * package root (`pve-api-subset.json`, next to `src/` and `dist/`, so both load it).
 */
export const API_SCHEMA: ApiSchema = JSON.parse(readFileSync(new URL("../pve-api-subset.json", import.meta.url), "utf8")) as ApiSchema;

/**
 * The subset writes indexed options once (`net[n]`); PVE's schema has one property per index.
 * These are PVE 9's maxima (qemu-server: MAX_NETS 32, MAX_SCSI_DISKS 31, …; pve-container alike).
 */
const INDEXED_MAX: Record<string, Record<string, number>> = {
  qemu: { net: 32, ipconfig: 32, scsi: 31, virtio: 16, sata: 6, ide: 4, unused: 256, usb: 14, hostpci: 16, serial: 4, parallel: 3, numa: 8, virtiofs: 10 },
  lxc: { net: 32, mp: 256, unused: 256, dev: 256 },
};

function expandIndexed(template: string, params: Record<string, ParamSchema>): Record<string, ParamSchema> {
  const kind = template.includes("/lxc") ? "lxc" : "qemu";
  const out: Record<string, ParamSchema> = {};
  for (const [name, schema] of Object.entries(params)) {
    const match = /^(.+)\[n\]$/.exec(name);
    if (!match) {
      out[name] = schema;
      continue;
    }
    const max = INDEXED_MAX[kind]?.[match[1]!] ?? 32;
    for (let i = 0; i < max; i++) out[`${match[1]}${i}`] = schema;
  }
  return out;
}

const ENDPOINTS: ApiSchema = Object.fromEntries(
  Object.entries(API_SCHEMA).map(([template, methods]) => [
    template,
    Object.fromEntries(Object.entries(methods).map(([method, schema]) => [method, { ...schema, params: expandIndexed(template, schema.params) }])),
  ]),
);

/** The schema of one endpoint, with indexed options expanded. */
export function methodSchema(template: string, method: string): MethodSchema | undefined {
  return ENDPOINTS[template]?.[method as HttpMethod];
}

const templates = Object.keys(API_SCHEMA)
  .map((template) => ({
    template,
    literal: template.split("/").filter((part) => !part.startsWith("{")).length,
    regex: new RegExp(`^${template.replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}$`),
  }))
  // Literal segments win over parameters, as in PVE's handler lookup.
  .sort((a, b) => b.literal - a.literal);

/** `/nodes/pve1/qemu/100/status/start` → its template and the (already unescaped) path parameters. */
export function matchPath(path: string): { template: string; params: Record<string, string> } | undefined {
  for (const { template, regex } of templates) {
    const match = regex.exec(path);
    if (match) return { template, params: { ...match.groups } };
  }
  return undefined;
}
