/**
 * PVE's registered string formats (pve-common JSONSchema.pm and friends) that the subset uses,
 * with their exact messages. A verifier returns an error message or undefined. Formats the
 * subset only names as `property-string` (their inner structure is not in the subset) and the
 * firewall/CPU/boot specifics are accepted as PVE would accept any well-formed value.
 */
type Verifier = (value: string) => string | undefined;

const CONFIGID = /^[a-z][a-z0-9_-]+$/i;
const DNS_LABEL = "([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)";
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const isIpv6 = (value: string) => /^[0-9a-f:]+(%\w+)?$/i.test(value) && value.includes(":") && value.split("::").length <= 2;
const isIp = (value: string) => IPV4.test(value) || isIpv6(value);
const isCidr = (value: string) => {
  const [ip, bits, extra] = value.split("/");
  if (extra !== undefined || bits === undefined || !/^\d+$/.test(bits)) return false;
  return (IPV4.test(ip!) && Number(bits) <= 32) || (isIpv6(ip!) && Number(bits) <= 128);
};

function storageId(value: string): string | undefined {
  if (value.length < 2) return `storage ID '${value}' cannot be shorter than 2 characters`;
  if (!/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(value)) return `storage ID '${value}' contains illegal characters`;
  return undefined;
}

const FORMATS: Record<string, Verifier> = {
  "pve-node": (v) => (/^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)$/.test(v) ? undefined : "value does not look like a valid node name"),
  "pve-vmid": (v) => (/^[1-9][0-9]{2,8}$/.test(v) ? undefined : "value does not look like a valid VM ID"),
  "pve-configid": (v) => (CONFIGID.test(v) ? undefined : `invalid configuration ID '${v}'`),
  "pve-storage-id": storageId,
  "pve-poolid": (v) => (/^[A-Za-z0-9.\-_]+$/.test(v) ? undefined : `pool name '${v}' contains illegal characters`),
  "pve-realm": (v) => (/^[A-Za-z][A-Za-z0-9.\-_]+$/.test(v) ? undefined : `realm '${v}' contains invalid characters`),
  "dns-name": (v) => (new RegExp(`^(${DNS_LABEL}\\.)*${DNS_LABEL}$`).test(v) ? undefined : "value does not look like a valid DNS name"),
  "pve-tag": (v) => (/^[a-z0-9_][a-z0-9_\-+.]*$/i.test(v) ? undefined : "invalid characters in tag"),
  "pve-iface": (v) => (/^[a-z][a-z0-9_]{1,20}([:.]\d+)?$/i.test(v) ? undefined : `invalid network interface name '${v}'`),
  "pve-volume-id": (v) => (/^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.test(v) ? undefined : `unable to parse volume ID '${v}'`),
  "pve-bridge-id": (v) => (/^[-_.\w\d]+$/.test(v) ? undefined : `invalid bridge ID '${v}'`),
  urlencoded: (v) => (/^[-%a-zA-Z0-9_.!~*'()]*$/.test(v) ? undefined : `invalid urlencoded string: ${v}`),
  address: (v) => (isIp(v) ? undefined : `value does not look like a valid address: ${v}`),
  CIDR: (v) => (isCidr(v) ? undefined : `value does not look like a valid CIDR network`),
  IPorCIDR: (v) => (isIp(v) || isCidr(v) ? undefined : `value does not look like a valid IP address or CIDR network`),
  "storage-pair": (v) => (/^[a-z][a-z0-9\-_.]*[a-z0-9](:[a-z][a-z0-9\-_.]*[a-z0-9])?$/i.test(v) || v === "1" ? undefined : `invalid storage pair '${v}'`),
  "bridge-pair": (v) => (/^[-_.\w\d]+(:[-_.\w\d]+)?$/.test(v) || v === "1" ? undefined : `invalid bridge pair '${v}'`),
  "pve-storage-content": (v) => (/^(images|rootdir|vztmpl|iso|backup|snippets|import)$/.test(v) ? undefined : `invalid content type '${v}'`),
  "pve-task-status-type": (v) => (/^(ok|error|warning|unknown)$/i.test(v) ? undefined : "invalid status type"),
};

/** PVE::Tools::split_list: NUL-separated, else commas, semicolons and white space. */
export function splitList(text: string): string[] {
  if (text.includes("\0")) return text.split("\0");
  return text.replace(/[,;]/g, " ").trim().split(/\s+/).filter(Boolean);
}

/** `check_format`: undefined when the value is fine, else the text PVE puts after "invalid format - ". */
export function checkFormat(format: string, value: string): string | undefined {
  const [, name, kind] = /^(.*?)(?:-(list|opt))?$/.exec(format)!;
  const verify = FORMATS[name!];
  if (!verify) return undefined;
  if (kind === "list") {
    for (const item of splitList(value)) {
      const error = verify(item);
      if (error) return error;
    }
    return undefined;
  }
  if (kind === "opt" && !value) return undefined;
  return verify(value);
}
