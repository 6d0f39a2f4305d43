import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ingressGroupsOf, readStackConfig, stackConfigPath } from "../../lib/stack-config";

function file(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-stack-"));
  const f = stackConfigPath(dir, "stage2");
  fs.writeFileSync(f, text);
  return f;
}

describe("stack config files", () => {
  it("reads the cni-migration keys, leaving out secrets and other namespaces", () => {
    const f = file(
      [
        "config:",
        '  cni-migration:stage: "2"',
        "  cni-migration:cilium:",
        "    podCIDR: 100.72.0.0/13",
        "  cni-migration:token:",
        "    secure: AAABAKx",
        "  aws:region: us-east-1",
        "",
      ].join("\n"),
    );
    expect(path.basename(f)).to.equal("Pulumi.stage2.yaml");
    expect(readStackConfig(f)).to.deep.equal({ stage: "2", cilium: { podCIDR: "100.72.0.0/13" } });
  });

  it("is undefined for a stack without a file, and refuses one that does not parse", () => {
    expect(readStackConfig("/nonexistent/Pulumi.stage9.yaml")).to.equal(undefined);
    const bad = file("config: [\n");
    expect(() => readStackConfig(bad)).to.throw(`${bad} is not valid YAML (`);
    const list = file("config:\n  - a\n");
    expect(() => readStackConfig(list)).to.throw(
      `${list} has a \`config\` that is not a map; it must map keys such as ` +
        "`cni-migration:stage` to values.",
    );
  });

  it("takes ingress groups as a list or as the JSON text pulumi config set stores", () => {
    expect(ingressGroupsOf({ ingressInstanceGroups: ["a", "b"] })).to.deep.equal(["a", "b"]);
    expect(ingressGroupsOf({ ingressInstanceGroups: '["ingress"]' })).to.deep.equal(["ingress"]);
    expect(ingressGroupsOf({ ingressInstanceGroups: "[oops" })).to.deep.equal([]);
    expect(ingressGroupsOf(undefined)).to.deep.equal([]);
  });
});
