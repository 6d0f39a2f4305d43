import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { KopsObject } from "../../lib/kops";
import { CLUSTER_NAME, KOPS_DOUBLE, fixtureSpecs, kopsCalls, kopsState } from "../support/harness";

const ROOT = path.resolve(__dirname, "..", "..");

/** Runs the CLI as the program's commands do: `node bin/cni-migration ...` from the project. */
function cli(
  stateDir: string,
  ...args: string[]
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("node", ["bin/cni-migration", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: {
      ...process.env,
      KOPS_BINARY: KOPS_DOUBLE,
      KOPS_CLUSTER_NAME: CLUSTER_NAME,
      KOPS_STATE_STORE: `file://${stateDir}`,
    },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function specsIn(stateDir: string): KopsObject[] {
  return YAML.parseAllDocuments(fs.readFileSync(path.join(stateDir, "specs.yaml"), "utf8"))
    .map((d) => d.toJS() as KopsObject | null)
    .filter((o): o is KopsObject => o !== null);
}

describe("cni-migration kops-apply", function () {
  this.timeout(60000);

  it("writes the stage's labels into one instance group, keeping its taints, then finds nothing to do", () => {
    const specs = fixtureSpecs();
    const nodes = specs.find((o) => o.metadata.name === "nodes") as KopsObject;
    nodes.spec.taints = ["dedicated=batch:NoSchedule"];
    nodes.spec.nodeLabels = { team: "batch" };
    const dir = kopsState(specs);

    const first = cli(dir, "kops-apply", "instancegroup", "nodes", "--stage", "1");
    expect(first.stderr).to.equal("");
    expect(first.stdout.split("\n")).to.include.members([
      'InstanceGroup nodes: spec.nodeLabels.node-role.kubernetes.io/canal: (unset) -> "true"',
      "InstanceGroup nodes: written with kops replace",
    ]);
    const after = specsIn(dir).find((o) => o.metadata.name === "nodes") as KopsObject;
    expect(after.spec.nodeLabels).to.deep.equal({
      team: "batch",
      "node-role.kubernetes.io/canal": "true",
      "node-role.kubernetes.io/cilium": "true",
      "node-role.kubernetes.io/cni-priority": "canal",
    });
    expect(after.spec.taints).to.deep.equal(["dedicated=batch:NoSchedule"]);
    const master = specsIn(dir).find((o) => o.metadata.name === "master-us-test-1a") as KopsObject;
    expect(master.spec).not.to.have.property("nodeLabels");

    const second = cli(dir, "kops-apply", "instancegroup", "nodes", "--stage", "1");
    expect(second.stdout.trim()).to.equal("InstanceGroup nodes: already as stage 1 wants it");
    expect(kopsCalls(dir).filter((argv) => argv[0] === "replace")).to.have.length(1);
  });

  it("switches the cluster to cni: {} and turns kube-proxy off in stage 3", () => {
    const dir = kopsState(fixtureSpecs());
    const r = cli(dir, "kops-apply", "cluster", "--stage", "3");
    expect(r.status).to.equal(0);
    const cluster = specsIn(dir).find((o) => o.kind === "Cluster") as KopsObject;
    expect(cluster.spec.networking).to.deep.equal({ cni: {} });
    expect(cluster.spec.kubeProxy).to.deep.equal({ enabled: false });
    expect(cluster.spec.networkCIDR).to.equal("172.20.0.0/16");
  });

  it("refuses a group that no longer exists, saying how to go on", () => {
    const dir = kopsState(fixtureSpecs());
    const r = cli(dir, "kops-apply", "instancegroup", "gone", "--stage", "1");
    expect(r.status).to.equal(1);
    expect(r.stderr.trim()).to.equal(
      "cni-migration: instance group gone is not in cluster privatecanal.example.com; it was " +
        "removed since the preview. Run `pulumi up` again so the plan sees the current groups.",
    );
  });

  it("refuses a stage out of range", () => {
    const dir = kopsState(fixtureSpecs());
    const r = cli(dir, "kops-apply", "cluster", "--stage", "9");
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain('`--stage` is "9", which is not a stage.');
    expect(kopsCalls(dir)).to.deep.equal([]);
  });
});
