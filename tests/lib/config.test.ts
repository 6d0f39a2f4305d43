import { expect } from "chai";
import { ConfigError, DEFAULT_MULTUS_IMAGE, parseConfig } from "../../lib/config";

const base = { clusterName: "c.example.com", stateStore: "s3://state" };

function problems(raw: Record<string, unknown>, stack = "stage0"): readonly string[] {
  try {
    parseConfig(raw, stack);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected the config to be refused");
}

describe("config", () => {
  it("fills in the defaults", () => {
    const c = parseConfig({ ...base, stage: "1" }, "stage1");
    expect(c.stage).to.equal(1);
    expect(c.kopsBinary).to.equal("kops");
    expect(c.networkPolicies).to.equal("keep");
    expect(c.multus.image).to.equal(DEFAULT_MULTUS_IMAGE);
    expect(c.cilium).to.deep.include({
      version: "1.18.6",
      chart: "https://helm.cilium.io",
      podCIDR: "100.72.0.0/13",
      tunnelProtocol: "geneve",
      tunnelPort: 6081,
    });
    expect(c.rollout).to.deep.equal({ validationTimeout: "15m", validateCount: 2, timeout: "6h" });
  });

  it("refuses a stage out of range", () => {
    expect(problems({ ...base, stage: "7" }, "dev")).to.deep.equal([
      "`cni-migration:stage` is 7, which is not a stage. Valid stages: 0 (prepare), 1 (dual, canal " +
        "primary), 2 (dual, cilium primary), 3 (cilium + KPR), 4 (complete). Set it to one of these numbers.",
    ]);
  });

  it("refuses a stage that does not match the stack name", () => {
    expect(problems({ ...base, stage: "2" }, "stage3")).to.deep.equal([
      "`cni-migration:stage` is 2 but the stack is `stage3`, which holds stage 3. Set " +
        "`cni-migration:stage` to 3 in Pulumi.stage3.yaml, or select the stack of stage 2.",
    ]);
  });

  it("requires the API server host from stage 3", () => {
    expect(problems({ ...base, stage: "3" }, "stage3")).to.deep.equal([
      "`cni-migration:cilium.apiServerHost` is missing; from stage 3 nodes run without kube-proxy " +
        "and reach the API server only through it. Set it to the API load balancer's address, e.g. " +
        "`pulumi config set --path cilium.apiServerHost api.example.com`.",
    ]);
  });

  it("reports every problem at once, naming each key", () => {
    const p = problems({
      stage: "0",
      clusterName: "",
      multus: { image: "ghcr.io/k8snetworkplumbingwg/multus-cni:snapshot" },
      networkPolicies: "off",
      cilium: { podCIDR: "100.72.0.0/33", tunnelProtocol: "vxlan", tunnelPort: 8472, bogus: 1 },
      clusterNmae: "x",
    });
    expect(p).to.deep.equal([
      "`cni-migration:clusterNmae` is not a setting of this program. Known settings: stage, " +
        "clusterName, stateStore, kopsBinary, ingressInstanceGroups, cilium, networkPolicies, multus, rollout.",
      '`cni-migration:clusterName` is ""; set it to the kops cluster name (what `kops get clusters` ' +
        "lists), e.g. `pulumi config set clusterName prod.example.com`.",
      "`cni-migration:stateStore` is missing; set it to the kops state store, e.g. `pulumi config " +
        "set stateStore s3://my-kops-state`.",
      '`cni-migration:networkPolicies` is "off"; allowed: "keep" (a temporary clusterwide allow ' +
        'policy until stage 4) or "none" (policies off during the migration).',
      "`cni-migration:cilium.bogus` is not a setting. Known cilium settings: version, chart, " +
        "podCIDR, tunnelProtocol, tunnelPort, apiServerHost, apiServerPort, values.",
      '`cni-migration:cilium.podCIDR` is "100.72.0.0/33", which is not an IPv4 CIDR; use a form ' +
        'like "100.72.0.0/13" that no canal, service or VPC range overlaps.',
      "`cni-migration:cilium.tunnelPort` is 8472, flannel's VXLAN port; canal still uses it on " +
        "dual nodes. Use another port such as 8473, or geneve on 6081.",
      '`cni-migration:multus.image` is "ghcr.io/k8snetworkplumbingwg/multus-cni:snapshot"; it ' +
        'must name a released tag such as "ghcr.io/k8snetworkplumbingwg/multus-cni:v4.2.2" or a ' +
        'digest, never "snapshot" or "latest", so every node runs the same Multus.',
    ]);
  });

  it("reads structured values as Pulumi passes them, as JSON text", () => {
    const c = parseConfig(
      {
        ...base,
        stage: "0",
        ingressInstanceGroups: '["ingress-a"]',
        cilium: '{"podCIDR":"10.200.0.0/16","values":{"debug":{"enabled":true}}}',
      },
      "stage0",
    );
    expect(c.ingressInstanceGroups).to.deep.equal(["ingress-a"]);
    expect(c.cilium.podCIDR).to.equal("10.200.0.0/16");
    expect(c.cilium.values).to.deep.equal({ debug: { enabled: true } });
  });
});
