import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SimulatorCertificate {
  keyPem: string;
  certPem: string;
  /** The CA that signed the leaf, for clients that trust a CA file. */
  caPem: string;
  /** SHA-256 of the leaf, "AA:BB:…" as Proxmox shows it. */
  fingerprint256: string;
}

/**
 * A private CA ("PVE Cluster Manager CA", like pve-root-ca) and a node leaf for 127.0.0.1, ::1,
 * localhost, pve1 and any extra names, made with the openssl CLI (Node 20 cannot issue certificates).
 */
export function generateCertificate(extraHostnames: string[] = []): SimulatorCertificate {
  const hostnames = ["localhost", "pve1", "pve-sim", ...extraHostnames];
  const dir = mkdtempSync(join(tmpdir(), "pve-sim-tls-"));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  try {
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/O=PVE Cluster Manager CA/CN=Proxmox Virtual Environment", "-days", "3650", "-keyout", file("ca.key"), "-out", file("ca.pem"));
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/O=PVE Cluster Node/CN=pve1", "-keyout", file("leaf.key"), "-out", file("leaf.csr"));
    const san = ["IP:127.0.0.1", "IP:::1", ...hostnames.map((host) => `DNS:${host}`)].join(",");
    writeFileSync(file("ext.cnf"), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    openssl("x509", "-req", "-in", file("leaf.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-days", "730", "-extfile", file("ext.cnf"), "-out", file("leaf.pem"));
    const certPem = readFileSync(file("leaf.pem"), "utf8");
    return { keyPem: readFileSync(file("leaf.key"), "utf8"), certPem, caPem: readFileSync(file("ca.pem"), "utf8"), fingerprint256: new X509Certificate(certPem).fingerprint256 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
