import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadChart, BUNDLED_CHART, ChartInfo } from "../../lib/chart";
import { parseConfig } from "../../lib/config";
import { KopsObject, clusterFacts, parseKopsObjects } from "../../lib/kops";
import { CANAL_LABEL, INSTANCE_GROUP_LABEL } from "../../lib/labels";
import { PreflightInput, preflight, runPreflightChecks } from "../../lib/preflight";
import { Stage } from "../../lib/stage";
import { ciliumValues } from "../../lib/values";

const FIXTURE = path.resolve(__dirname, "../../../shared/fixtures/kops/privatecanal/cluster.yaml");
const specs = parseKopsObjects(fs.readFileSync(FIXTURE, "utf8"), "fixture");
const cluster = specs.find((o) => o.kind === "Cluster") as KopsObject;
const groups = specs.filter((o) => o.kind === "InstanceGroup");
let chart: ChartInfo;

/** Preflight of `stage` on the fixture cluster as stack `stage<N>` after a promotion. */
function input(stage: Stage, raw: Record<string, unknown> = {}): PreflightInput {
  const config = parseConfig(
    {
      stage: String(stage),
      clusterName: "privatecanal.example.com",
      stateStore: "s3://state",
      ...(stage >= Stage.CiliumKpr ? { cilium: { apiServerHost: "api.example.com" } } : {}),
      ...raw,
    },
    `stage${stage}`,
  );
  return {
    config,
    stackName: `stage${stage}`,
    facts: clusterFacts(cluster),
    groups,
    kopsVersion: "1.33.2",
    nodes: [
      {
        name: "nodes-0",
        labels: { [INSTANCE_GROUP_LABEL]: "nodes", [CANAL_LABEL]: "true" },
        podCIDRs: ["100.96.1.0/24"],
      },
    ],
    record: stage === Stage.Prepare ? undefined : { stage: stage - 1, stack: `stage${stage}` },
    values: ciliumValues({ stage, cilium: config.cilium, apiServerPort: 443, policiesOff: false }),
    chart,
  };
}

describe("preflight as named checks", () => {
  before(() => {
    chart = loadChart(BUNDLED_CHART);
  });

  it("runs every check in order, each passing with what it saw", () => {
    const results = runPreflightChecks(input(Stage.DualCanalPrimary));
    expect(results.map((r) => [r.id, r.status, r.note])).to.deep.equal([
      ["kubernetes-version", "pass", "Kubernetes v1.27.0"],
      ["cilium-tested-versions", "warn", ""],
      ["kops-version", "pass", "kops 1.33.2"],
      ["networking", "pass", "networking canal"],
      ["kube-proxy", "pass", "kube-proxy enabled"],
      ["cilium-pool", "pass", "100.72.0.0/13 overlaps none of 4 ranges"],
      ["ingress-groups", "pass", "no ingress groups"],
      ["node-labels", "pass", "1 node read"],
      ["cni-exclusive", "pass", "cni.exclusive false"],
      ["l7-proxy", "pass", "l7Proxy off"],
      ["chart-values", "pass", "checked against chart 1.18.6"],
      [
        "stage-order",
        "pass",
        "stage 1 (dual, canal primary) can be undone by going back to stage 0",
      ],
    ]);
  });

  it("splits each finding into the problem and its fix, the message joining them", () => {
    const [tested] = runPreflightChecks(input(Stage.Prepare)).filter(
      (r) => r.id === "cilium-tested-versions",
    );
    expect(tested?.findings).to.deep.equal([
      {
        severity: "warn",
        problem:
          "Kubernetes v1.27.0 is outside the versions Cilium 1.18.6 is tested on (1.30-1.33)",
        fix: "it is expected to work, but rehearse first.",
        message:
          "Kubernetes v1.27.0 is outside the versions Cilium 1.18.6 is tested on (1.30-1.33); it " +
          "is expected to work, but rehearse first.",
      },
    ]);
  });

  it("fails a check with several findings, and preflight lists them in check order", () => {
    const i = input(Stage.Prepare, {
      ingressInstanceGroups: '["ingres", "master-us-test-1a"]',
      cilium: { podCIDR: "100.96.1.0/24", values: { cni: { exclusive: true } } },
    });
    const results = runPreflightChecks(i);
    const ingress = results.find((r) => r.id === "ingress-groups");
    expect(ingress?.status).to.equal("fail");
    expect(ingress?.findings.map((f) => f.fix)).to.deep.equal([
      "Fix the name or remove it.",
      "Remove it from the list.",
    ]);
    expect(preflight(i)).to.deep.equal({
      errors: [
        "`cni-migration:cilium.podCIDR` is 100.96.1.0/24, which overlaps the cluster's podCIDR " +
          "(kops spec.podCIDR) 100.96.0.0/11, node nodes-0's podCIDR 100.96.1.0/24. Choose a " +
          "range disjoint from all of them, e.g. `pulumi config set --path cilium.podCIDR " +
          "100.72.0.0/24`.",
        '`cni-migration:ingressInstanceGroups` names "ingres", which is not an instance group of ' +
          "privatecanal.example.com. Groups: master-us-test-1a, nodes, bastion. Fix the name or " +
          "remove it.",
        '`cni-migration:ingressInstanceGroups` names "master-us-test-1a", a Master group; only ' +
          "groups of role Node can be ingress groups. Remove it from the list.",
        "`cni-migration:cilium.values` sets cni.exclusive true in stage 0 (prepare); Cilium would " +
          "rename Multus's and canal's CNI configs and cut dual nodes off. Remove it until stage 4.",
      ],
      warnings: [
        "Kubernetes v1.27.0 is outside the versions Cilium 1.18.6 is tested on (1.30-1.33); it is " +
          "expected to work, but rehearse first.",
      ],
    });
  });

  it("warns, not fails, when the cluster could not be read", () => {
    const results = runPreflightChecks({
      ...input(Stage.DualCanalPrimary),
      nodes: undefined,
      record: "unreadable",
      chart: undefined,
    });
    const warned = results.filter((r) => r.status === "warn");
    expect(warned.map((r) => [r.id, r.findings.map((f) => f.fix)])).to.deep.equal([
      ["cilium-tested-versions", ["it is expected to work, but rehearse first."]],
      ["node-labels", ["check the kubeconfig context before applying."]],
      [
        "chart-values",
        ["set `cni-migration:cilium.chart` to a chart directory or .tgz to check them."],
      ],
      ["stage-order", ["Check the kubeconfig context, then run preflight again."]],
    ]);
    expect(results.filter((r) => r.status === "fail")).to.deep.equal([]);
  });

  it("gives the stage-order refusals a fix of their own", () => {
    const skipped = runPreflightChecks({
      ...input(Stage.DualCiliumPrimary),
      record: { stage: Stage.Prepare, stack: "stage2" },
    }).find((r) => r.id === "stage-order");
    expect(skipped?.findings.map((f) => [f.problem, f.fix])).to.deep.equal([
      [
        "stage 2 (dual, cilium primary) cannot be applied: stages are applied one at a time and " +
          "stage 0 (prepare) is applied; the next stage is stage 1 (dual, canal primary).",
        "Apply the stage after stage 0 (prepare) instead, one at a time.",
      ],
    ]);
    const unrecorded = runPreflightChecks({
      ...input(Stage.DualCanalPrimary),
      record: undefined,
    }).find((r) => r.id === "stage-order");
    expect(unrecorded?.findings.map((f) => f.fix)).to.deep.equal([
      "Apply stage 0 first (`pulumi up -s stage0`).",
    ]);
  });
});
