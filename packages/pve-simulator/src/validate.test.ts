import { describe, expect, test } from "vitest";
import { API_SCHEMA, matchPath } from "./schema.js";
import { validateParams } from "./validate.js";

const clone = API_SCHEMA["/nodes/{node}/qemu/{vmid}/clone"]!.POST!;

describe("PVE parameter verification", () => {
  test("paths match the schema's templates with their parameters", () => {
    expect(matchPath("/nodes/pve1/qemu/100/status/start")).toEqual({ template: "/nodes/{node}/qemu/{vmid}/status/start", params: { node: "pve1", vmid: "100" } });
    expect(matchPath("/nodes/pve1/qemu/100/explode")).toBeUndefined();
  });

  test("wrong types, ranges, enums, unknown and missing parameters get PVE's messages", () => {
    const { errors } = validateParams(clone, { node: "pve1", vmid: "99", newid: "abc", format: "vdi", full: "maybe", bogus: "1" });
    expect(errors).toEqual({
      vmid: "value must have a minimum value of 100",
      newid: "type check ('integer') failed - got 'abc'",
      format: "value 'vdi' does not have a value in the enumeration 'raw, qcow2, vmdk'",
      full: "type check ('boolean') failed - got 'maybe'",
      bogus: "property is not defined in schema and the schema does not allow additional properties",
    });
    expect(validateParams(clone, { node: "pve1", vmid: "9000" }).errors).toEqual({ newid: "property is missing and it is not optional" });
    expect(validateParams(clone, { node: "bad_node!", vmid: "9000", newid: "150" }).errors).toEqual({ node: "invalid format - value does not look like a valid node name" });
  });

  test("values are coerced as PVE does: integers, and booleans from 0/1/true/false/yes/no/on/off", () => {
    const { errors, values } = validateParams(clone, { node: "pve1", vmid: "9000", newid: "150", full: "on", name: "bot-1" });
    expect(errors).toEqual({});
    expect(values).toMatchObject({ vmid: 9000, newid: 150, full: true, name: "bot-1" });
  });
});
