import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { readApiKeyFromConfig, readSyncthingConfig } from "./config-file.js";

const dir = mkdtempSync(join(tmpdir(), "botmox-st-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function config(gui: string): string {
  const path = join(dir, `config-${++n}.xml`);
  writeFileSync(
    path,
    `<configuration version="36">
    <device id="Q5H3R6F-GGVWETW-QU4RNRO-RRNM5W7-ZAZNG72-IWTLP6B-VGNWRFO-5DAS6AP" name="vm">
        <address>dynamic</address>
    </device>
    ${gui}
    <options><listenAddress>default</listenAddress></options>
</configuration>`,
  );
  return path;
}

describe("readApiKeyFromConfig", () => {
  test("reads the key and the GUI address of the <gui> element (not a device's <address>)", () => {
    const path = config(`<gui enabled="true" tls="false" debugging="false">
        <address>127.0.0.1:8384</address>
        <apikey>23TZywiqzziGicNEACmEjcMngeDjYGze</apikey>
        <theme>default</theme>
    </gui>`);
    expect(readApiKeyFromConfig(path)).toEqual({ apiKey: "23TZywiqzziGicNEACmEjcMngeDjYGze", address: "127.0.0.1:8384", tls: false, url: "http://127.0.0.1:8384" });
    expect(readSyncthingConfig(path)).toEqual({ apiKey: "23TZywiqzziGicNEACmEjcMngeDjYGze", url: "http://127.0.0.1:8384" });
  });

  test("a GUI listening on every interface is reached on loopback; tls=true means https; entities are decoded", () => {
    expect(readApiKeyFromConfig(config(`<gui enabled="true" tls="true"><address>0.0.0.0:8443</address><apikey>a&amp;b</apikey></gui>`))).toMatchObject({ apiKey: "a&b", address: "0.0.0.0:8443", url: "https://127.0.0.1:8443" });
    expect(readApiKeyFromConfig(config(`<gui><address>[::]:8384</address><apikey>k</apikey></gui>`)).url).toBe("http://[::1]:8384");
  });

  test("says what is missing", () => {
    expect(() => readApiKeyFromConfig(config(`<gui enabled="true"><address>127.0.0.1:8384</address></gui>`))).toThrow(/no API key in <gui><apikey>/);
    expect(() => readApiKeyFromConfig(config(""))).toThrow(/has no <gui> element/);
    expect(() => readApiKeyFromConfig(config(`<gui><address>/run/st.sock</address><apikey>k</apikey></gui>`))).toThrow(/UNIX socket/);
    expect(() => readApiKeyFromConfig(join(dir, "missing.xml"))).toThrow(/ENOENT/);
  });
});
