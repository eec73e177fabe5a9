import { describe, expect, test } from "vitest";
import { checkFormat, splitList } from "./formats.js";
import { matchPath, methodSchema } from "./schema.js";
import { validateParams } from "./validate.js";

const clone = methodSchema("/nodes/{node}/qemu/{vmid}/clone", "POST")!;
const config = methodSchema("/nodes/{node}/qemu/{vmid}/config", "PUT")!;

describe("PVE parameter verification (JSONSchema.pm semantics)", () => {
  test("paths match the schema's templates; literal segments win over parameters", () => {
    expect(matchPath("/nodes/pve1/qemu/100/status/start")).toEqual({ template: "/nodes/{node}/qemu/{vmid}/status/start", params: { node: "pve1", vmid: "100" } });
    expect(matchPath("/nodes/pve1/qemu/100/snapshot/clean/rollback")?.template).toBe("/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback");
    expect(matchPath("/nodes/pve1/qemu/100/explode")).toBeUndefined();
  });

  test("wrong types, formats, ranges, enums, unknown and missing parameters get PVE's messages", () => {
    const { errors } = validateParams(clone, { node: "pve1", vmid: "99", newid: "abc", format: "vdi", full: "maybe", bogus: "1", bwlimit: "-1" });
    expect(errors).toEqual({
      // the pve-vmid format is checked before the minimum, and format errors keep Perl's newline
      vmid: "invalid format - value does not look like a valid VM ID\n",
      newid: "type check ('integer') failed - got 'abc'",
      format: "value 'vdi' does not have a value in the enumeration 'raw, qcow2, vmdk'",
      full: "type check ('boolean') failed - got 'maybe'",
      bwlimit: "value must have a minimum value of 0",
      bogus: "property is not defined in schema and the schema does not allow additional properties",
    });
    expect(validateParams(clone, { node: "pve1", vmid: "9000" }).errors).toEqual({ newid: "property is missing and it is not optional" });
    expect(validateParams(clone, { node: "bad_node!", vmid: "9000", newid: "150" }).errors).toEqual({ node: "invalid format - value does not look like a valid node name\n" });
    expect(validateParams(clone, { node: "pve1", vmid: "9000", newid: "1000000000" }).errors).toEqual({ newid: "invalid format - value does not look like a valid VM ID\n" });
    expect(validateParams(clone, { node: "pve1", vmid: "9000", newid: "150", snapname: "x".repeat(41) }).errors).toEqual({ snapname: "value may only be 40 characters long" });
  });

  test("booleans are 0 or 1 in forms and query strings (PVE refuses 'true'); JSON booleans are fine", () => {
    expect(validateParams(clone, { node: "pve1", vmid: "9000", newid: "150", full: "true" }).errors).toEqual({ full: "type check ('boolean') failed - got 'true'" });
    const form = validateParams(clone, { node: "pve1", vmid: "9000", newid: "150", full: "1", name: "bot-1" });
    expect(form).toEqual({ errors: {}, values: { node: "pve1", vmid: 9000, newid: 150, full: true, name: "bot-1" } });
    expect(validateParams(clone, { node: "pve1", vmid: 9000, newid: 150, full: false }).values.full).toBe(false);
    expect(validateParams(clone, { node: "pve1", vmid: "9000", newid: true }).errors).toEqual({ newid: "type check ('integer') failed - got JSON::PP::Boolean" });
    expect(validateParams(clone, { node: "pve1", vmid: "9000", newid: "150", name: ["a", "b"] }).errors).toEqual({ name: "type check ('string') failed - got ARRAY" });
  });

  test("indexed options exist up to PVE's maxima (net0..net31, scsi0..scsi30)", () => {
    const base = { node: "pve1", vmid: "100" };
    expect(validateParams(config, { ...base, net31: "virtio,bridge=vmbr0", scsi30: "local-lvm:8" }).errors).toEqual({});
    expect(validateParams(config, { ...base, net32: "virtio", scsi31: "local-lvm:8" }).errors).toEqual({
      net32: "property is not defined in schema and the schema does not allow additional properties",
      scsi31: "property is not defined in schema and the schema does not allow additional properties",
    });
  });

  test("list formats check each element; arrays for a -list string are joined as PVE's normaliser does", () => {
    expect(splitList("memory, cores;net0  tags")).toEqual(["memory", "cores", "net0", "tags"]);
    expect(checkFormat("pve-configid-list", "memory,cores")).toBeUndefined();
    expect(checkFormat("pve-configid-list", "memory,9lives")).toBe("invalid configuration ID '9lives'");
    expect(validateParams(config, { node: "pve1", vmid: "100", delete: ["memory", "cores"] }).values.delete).toBe("memory,cores");
    expect(checkFormat("pve-storage-id", "x")).toBe("storage ID 'x' cannot be shorter than 2 characters");
  });
});
