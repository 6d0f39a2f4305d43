/**
 * The rehearsal end to end: the real Pulumi engine drives the program through stages 0 to 4 on a
 * simulated cluster (kwok) with the kops simulator, while the invariants are checked. Needs the
 * toolchain of scripts/toolchain.sh (built when missing). Run with `npm run test:e2e`.
 */
import { expect } from "chai";
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs";
import { KopsObject } from "../../lib/kops";
import { RehearsalReport } from "../../rehearsal/report";
import { rehearse } from "../../rehearsal/rehearse";
import Ajv from "ajv";
import { spawnSync } from "node:child_process";
import { toolchainEnv } from "../../rehearsal/toolchain";
import { deleteKeptCluster, readSpecs, specFile } from "./support";

const log = (line: string): void => {
  process.stdout.write(`      ${line}\n`);
};

function outDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cni-migration-${name}-`));
}

describe("rehearsal on the fixture cluster with an ingress group", function () {
  this.timeout(60 * 60 * 1000);
  let report: RehearsalReport;
  let out: string;

  before(async () => {
    out = outDir("e2e");
    const cluster = specFile(() => undefined, { ingressGroup: true });
    report = await rehearse(
      {
        clusterFile: cluster,
        nodesPerIg: 2,
        out,
        config: { ingressInstanceGroups: ["ingress"] },
        keepCluster: true,
      },
      log,
    );
  });

  after(() => {
    deleteKeptCluster(
      out,
      toolchainEnv(() => undefined),
    );
  });

  it("passes with every invariant holding at every check of every stage", () => {
    expect(report.error).to.equal(null);
    expect(report.stages.map((s) => s.stage)).to.deep.equal([0, 1, 2, 3, 4]);
    for (const s of report.stages) {
      expect(s.violations, `stage ${s.stage}`).to.deep.equal([]);
      expect(s.error, `stage ${s.stage}`).to.equal(undefined);
      expect(s.invariantChecks, `stage ${s.stage}`).to.be.greaterThan(0);
    }
    expect(report.verdict).to.equal("pass");
  });

  it("rolls in the design's order: control plane first in stages 1 and 2, ingress first in stage 3", () => {
    const order = (stage: number): string[] =>
      report.stages[stage]?.rolls.map((r) => r.instanceGroup) ?? ["missing"];
    expect(order(0)).to.deep.equal([]);
    expect(order(1)).to.deep.equal(["master-us-test-1a", "ingress", "nodes"]);
    expect(order(2)).to.deep.equal(["master-us-test-1a", "ingress", "nodes"]);
    expect(report.stages[2]?.rolls.map((r) => r.nodesReplaced)).to.deep.equal([1, 0, 2]);
    expect(order(3)).to.deep.equal(["ingress", "master-us-test-1a", "nodes"]);
    expect(order(4)).to.deep.equal([]);
    expect(report.stages[3]?.rolls.map((r) => r.nodesReplaced)).to.deep.equal([2, 1, 2]);
  });

  it("leaves Cilium with kube-proxy replacement on every node and nothing of the migration", () => {
    const f = report.final;
    expect(f).to.not.equal(null);
    expect(f).to.deep.equal({
      nodes: 5,
      canalPods: 0,
      calicoKubeControllersPods: 0,
      multusPods: 0,
      ciliumAgentPods: 5,
      kubeProxyPods: 0,
      ciliumNodeConfigs: 0,
      ciliumClusterwideNetworkPolicies: 0,
      nodesWithKpr: 5,
    });
  });

  it("ends with a kops spec of cni: {} and kube-proxy disabled, and no migration labels", () => {
    const specs = readSpecs(path.join(out, "kops-specs-after-stage-4.yaml"));
    const cluster = specs.find((o) => o.kind === "Cluster") as KopsObject;
    expect(cluster.spec.networking).to.deep.equal({ cni: {} });
    expect(cluster.spec.kubeProxy).to.deep.equal({ enabled: false });
    for (const ig of specs.filter((o) => o.kind === "InstanceGroup")) {
      expect(ig.spec, ig.metadata.name).not.to.have.property("nodeLabels");
    }
    const ingress = specs.find((o) => o.metadata.name === "ingress") as KopsObject;
    expect(ingress.spec.taints).to.deep.equal(["dedicated=ingress:NoSchedule"]);
  });

  it("is reported complete by `cni-migration status --json`, in the documented schema", () => {
    const root = path.resolve(__dirname, "..", "..");
    const r = spawnSync("node", ["bin/cni-migration", "status", "--json", "--ingress", "ingress"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, KUBECONFIG: path.join(out, "kubeconfig") },
    });
    expect(r.status, r.stderr).to.equal(0);
    const status = JSON.parse(r.stdout) as Record<string, unknown>;
    const schema = JSON.parse(
      fs.readFileSync(path.join(root, "schemas", "status.schema.json"), "utf8"),
    ) as object;
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(validate(status), JSON.stringify(validate.errors)).to.equal(true);
    expect(status).to.deep.include({ verdict: "ok", exitCode: 0, problems: [], blockers: [] });
    expect(status.stage).to.deep.include({ number: 4, stack: "stage4" });
    expect(status.nextPromotion).to.equal(null);
    const nodes = status.nodes as { total: number; byState: Record<string, number> };
    expect(nodes.total).to.equal(5);
    expect(nodes.byState["cilium-kpr"]).to.equal(5);
  });

  it("writes the report files", () => {
    for (const f of ["rehearsal-report.json", "rehearsal-report.md", "nodes-by-state.svg"]) {
      expect(fs.existsSync(path.join(out, f)), f).to.equal(true);
    }
    for (const s of [0, 1, 2, 3, 4]) {
      expect(fs.existsSync(path.join(out, `kops-specs-after-stage-${s}.yaml`))).to.equal(true);
    }
  });
});

describe("rehearsal of a cluster whose podCIDR overlaps the Cilium pool", function () {
  this.timeout(30 * 60 * 1000);

  it("is refused at stage 0 before any change", async () => {
    const out = outDir("e2e-overlap");
    const cluster = specFile((objects) => {
      const c = objects.find((o) => o.kind === "Cluster") as KopsObject;
      c.spec.podCIDR = "100.72.0.0/13";
    });
    const report = await rehearse({ clusterFile: cluster, nodesPerIg: 1, out, config: {} }, log);
    expect(report.verdict).to.equal("fail");
    expect(report.stages).to.have.length(1);
    const stage0 = report.stages[0];
    expect(stage0?.error).to.equal(
      "preflight refused stage 0 (prepare); nothing was changed:\n" +
        "  - `cni-migration:cilium.podCIDR` is 100.72.0.0/13, which overlaps the cluster's podCIDR " +
        "(kops spec.podCIDR) 100.72.0.0/13, node master-us-test-1a-0000's podCIDR 100.72.0.0/24, " +
        "node nodes-0001's podCIDR 100.72.1.0/24. Choose a range disjoint from all of them, e.g. " +
        "`pulumi config set --path cilium.podCIDR 100.80.0.0/13`.",
    );
    expect(stage0?.kopsCommands).to.deep.equal([]);
    const after = readSpecs(path.join(out, "kops-specs-after-stage-0.yaml"));
    expect((after.find((o) => o.kind === "Cluster") as KopsObject).spec.networking).to.deep.equal({
      canal: {},
    });
    expect(report.final).to.deep.include({
      canalPods: 2,
      ciliumAgentPods: 0,
      multusPods: 0,
      kubeProxyPods: 2,
    });
  });
});
