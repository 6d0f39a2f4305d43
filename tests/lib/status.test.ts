import { expect } from "chai";
import { readCluster } from "../../lib/cluster-read";
import { ClusterRead, StatusReport, buildStatus } from "../../lib/status";
import { fixtureLister } from "../support/fixtures";

const READ_AT = new Date("2026-12-03T10:00:00Z");
const opts = { readAt: READ_AT, context: "prod", ingressGroups: ["ingress"] };

/** The recorded stage 2 cluster, mid-roll: nodes-new-2's Cilium agent is not ready. */
function stage2Read(): Promise<ClusterRead> {
  return readCluster(fixtureLister("status-stage2"));
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/** The recorded read, changed by `edit` (on a deep copy). */
async function edited(edit: (r: Mutable<ClusterRead>) => void): Promise<ClusterRead> {
  const r = structuredClone(await stage2Read()) as Mutable<ClusterRead>;
  edit(r);
  return r;
}

/** Every pod made ready and the misplaced pod gone: the roll's leftovers only. */
function healed(r: Mutable<ClusterRead>): void {
  r.pods = r.pods
    .filter((p) => p.metadata?.name !== "cart-1")
    .map((p) => ({
      ...p,
      status: { ...p.status, conditions: [{ type: "Ready", status: "True" }] },
    }));
  r.daemonSets = r.daemonSets.map((d) => ({
    ...d,
    status: { ...d.status, numberReady: d.status?.desiredNumberScheduled },
  }));
}

describe("the status of a cluster, from recorded API responses", () => {
  let report: StatusReport;
  before(async () => {
    report = buildStatus(await stage2Read(), opts);
  });

  it("names the stage and stack holding the cluster and the next promotion", () => {
    expect(report.stage).to.deep.equal({
      number: 2,
      name: "dual, cilium primary",
      stack: "stage2",
    });
    expect(report.nextPromotion).to.deep.equal({ to: 3, command: "cni-migration promote --to 3" });
  });

  it("counts nodes by state per instance group, with each group's roll", () => {
    const zero = {
      "canal-only": 0,
      "dual-canal-primary": 0,
      "dual-cilium-primary": 0,
      "cilium-only": 0,
      "cilium-kpr": 0,
      broken: 0,
    };
    expect(report.instanceGroups).to.deep.equal([
      {
        name: "master-us-test-1a",
        nodes: 1,
        byState: { ...zero, "dual-cilium-primary": 1 },
        target: "dual-cilium-primary",
        done: 1,
        left: 0,
        rolling: false,
        etaSeconds: 0,
      },
      {
        name: "ingress",
        nodes: 1,
        byState: { ...zero, "dual-canal-primary": 1 },
        target: "dual-canal-primary",
        done: 1,
        left: 0,
        rolling: false,
        etaSeconds: 0,
      },
      {
        name: "nodes",
        nodes: 5,
        byState: { ...zero, "dual-canal-primary": 2, "dual-cilium-primary": 2, broken: 1 },
        target: "dual-cilium-primary",
        done: 2,
        left: 3,
        rolling: true,
        // nodes-new-1 and nodes-new-3 were created 20 minutes apart; three nodes are left
        etaSeconds: 3600,
      },
    ]);
    expect(report.nodes.total).to.equal(7);
    expect(report.nodes.ready).to.equal(7);
  });

  it("says what the broken node lacks", () => {
    expect(report.nodes.broken).to.deep.equal([
      {
        name: "nodes-new-2",
        instanceGroup: "nodes",
        problems: [
          "Multus makes Cilium primary but no Cilium agent runs",
          "Multus runs on a node that is not dual (it needs both canal and Cilium)",
        ],
      },
    ]);
  });

  it("shows the migration's DaemonSets, ready against desired, and no others", () => {
    expect(report.daemonSets.map((d) => [d.name, d.present, d.ready, d.desired])).to.deep.equal([
      ["canal", true, 7, 7],
      ["cilium", true, 6, 7],
      ["kube-multus", true, 3, 3],
      ["kube-multus-cilium", true, 4, 4],
    ]);
  });

  it("places pods by primary network and flags the one its node does not intend", () => {
    expect(report.networks).to.deep.equal([
      { name: "canal", cidrs: ["100.96.0.0/21"], pods: 3 },
      { name: "cilium", cidrs: ["100.72.0.0/13"], pods: 3 },
    ]);
    expect(report.pods).to.deep.equal({
      total: 38,
      byNetwork: { canal: 3, cilium: 3, host: 29, none: 2, unknown: 1 },
      wrongNetwork: [
        {
          namespace: "shop",
          name: "cart-1",
          node: "nodes-old-1",
          network: "cilium",
          intended: "canal",
        },
      ],
    });
  });

  it("fails on the broken node and the misplaced pod, and lists what blocks stage 3", () => {
    expect(report.verdict).to.equal("fail");
    expect(report.exitCode).to.equal(1);
    expect(report.problems).to.deep.equal([
      "1 node is broken: nodes-new-2. Fix what each lacks (see the broken nodes) or replace it " +
        "with `kops delete instance NAME --yes`.",
      "1 pod has a primary network its node does not intend: shop/cart-1 on nodes-old-1 " +
        "(cilium, node intends canal). Delete it so it is recreated through Multus.",
    ]);
    expect(report.blockers).to.deep.equal([
      "3 nodes are not yet dual, cilium primary as stage 2 (dual, cilium primary) requires: " +
        "nodes-old-1 (dual, canal primary), nodes-old-2 (dual, canal primary), nodes-new-2 (broken)",
      "DaemonSet kube-system/cilium has 6 of 7 pods ready; wait for it or look at its pods " +
        "(`kubectl -n kube-system get pods -o wide`).",
    ]);
  });

  it("treats an ingress group it was not told about as an ordinary group", async () => {
    const r = buildStatus(await stage2Read(), { ...opts, ingressGroups: [] });
    expect(r.instanceGroups.find((g) => g.name === "ingress")?.target).to.equal(
      "dual-cilium-primary",
    );
    expect(r.nodes.notInTarget.map((n) => n.name)).to.deep.equal([
      "ingress-1",
      "nodes-old-1",
      "nodes-old-2",
      "nodes-new-2",
    ]);
  });

  it("only warns while the roll is under way once nothing is broken", async () => {
    const r = buildStatus(await edited(healed), opts);
    expect([r.verdict, r.exitCode, r.problems]).to.deep.equal(["warn", 2, []]);
    expect(r.blockers).to.deep.equal([
      "2 nodes are not yet dual, cilium primary as stage 2 (dual, cilium primary) requires: " +
        "nodes-old-1 (dual, canal primary), nodes-old-2 (dual, canal primary)",
    ]);
  });

  it("is settled when every node is in the stage's state", async () => {
    const read = await edited((r) => {
      healed(r);
      r.nodes = r.nodes.filter((n) => !n.metadata?.name?.startsWith("nodes-old"));
    });
    const r = buildStatus(read, opts);
    expect([r.verdict, r.exitCode, r.problems, r.blockers]).to.deep.equal(["ok", 0, [], []]);
    expect(r.instanceGroups.map((g) => g.rolling)).to.deep.equal([false, false, false]);
  });

  it("before stage 0 expects canal-only nodes and names `pulumi up -s stage0`", async () => {
    const r = buildStatus(
      await edited((x) => {
        x.stageRecord = undefined;
      }),
      opts,
    );
    expect(r.stage).to.equal(null);
    expect(r.nextPromotion).to.deep.equal({ to: 0, command: "pulumi up -s stage0" });
    expect(r.blockers[0]).to.equal(
      "7 nodes are not yet canal only before stage 0: master-us-test-1a-1 (dual, cilium " +
        "primary), ingress-1 (dual, canal primary), nodes-old-1 (dual, canal primary), " +
        "nodes-old-2 (dual, canal primary), nodes-new-1 (dual, cilium primary) and 2 more",
    );
  });

  it("has no next promotion once stage 4 is applied", async () => {
    const r = buildStatus(
      await edited((x) => {
        x.stageRecord = { stage: "4", stack: "stage4" };
      }),
      opts,
    );
    expect(r.nextPromotion).to.equal(null);
    expect(r.instanceGroups.map((g) => g.target)).to.deep.equal([
      "cilium-kpr",
      "cilium-kpr",
      "cilium-kpr",
    ]);
  });

  it("fails, naming the ConfigMap, when the stage record is not valid", async () => {
    const r = buildStatus(
      await edited((x) => {
        x.stageRecord = { stage: "7", stack: "stage7" };
      }),
      opts,
    );
    expect(r.stage).to.equal(null);
    expect(r.verdict).to.equal("fail");
    expect(r.problems[0]).to.equal(
      'the ConfigMap kube-system/cni-migration-stage holds stage "7" and stack "stage7", which ' +
        "is not a valid record. Restore it to the stage and stack that last applied (see " +
        "`pulumi stack history`) before going on.",
    );
  });
});
