import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Lister } from "../../lib/cluster-read";
import { StatusIo, StatusOptions, runStatus, statusSchemaErrors } from "../../cli/status";
import { STAGE2_ROUTES, fixtureLister } from "../support/fixtures";

const NOW = new Date("2026-12-03T10:00:00Z");

interface Captured {
  out: string;
  err: string;
  sleeps: number[];
}

function io(lister: () => Promise<Lister>, extra: Partial<StatusIo> = {}): StatusIo & Captured {
  const c: Captured = { out: "", err: "", sleeps: [] };
  return Object.assign(c, {
    write: (t: string) => void (c.out += t),
    writeError: (t: string) => void (c.err += t),
    tty: false,
    lister,
    now: () => NOW,
    sleep: (ms: number) => {
      c.sleeps.push(ms);
      return Promise.resolve();
    },
    ...extra,
  });
}

const options = (o: Partial<StatusOptions> = {}): StatusOptions => ({
  json: false,
  watch: false,
  interval: 5,
  ingress: [],
  projectDir: "/nonexistent",
  ...o,
});

const stage2 = (): Promise<Lister> => Promise.resolve(fixtureLister("status-stage2"));

describe("cni-migration status", () => {
  it("prints JSON that honours schemas/status.schema.json, and exits 1 on problems", async () => {
    const c = io(stage2);
    const code = await runStatus(options({ json: true, ingress: ["ingress"] }), c);
    const report = JSON.parse(c.out) as Record<string, unknown>;
    expect(statusSchemaErrors(report)).to.deep.equal([]);
    expect(code).to.equal(1);
    expect([report.verdict, report.exitCode, report.readAt, report.context]).to.deep.equal([
      "fail",
      1,
      "2026-12-03T10:00:00.000Z",
      "recorded",
    ]);
    expect(c.err).to.equal("");
  });

  it("honours the schema in every kind of report, and the schema refuses what it must", async () => {
    const noRecord = fixtureLister("status-stage2", {
      ...STAGE2_ROUTES,
      "/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name=cni-migration-stage":
        "no-stage-record.json",
    });
    const c = io(() => Promise.resolve(noRecord));
    await runStatus(options({ json: true }), c);
    const report = JSON.parse(c.out) as Record<string, unknown>;
    expect(report.stage).to.equal(null);
    expect(statusSchemaErrors(report)).to.deep.equal([]);
    expect(statusSchemaErrors({ ...report, verdict: "maybe" })).to.deep.equal([
      "/verdict must be equal to one of the allowed values",
    ]);
    const { pods: _pods, ...withoutPods } = report;
    expect(statusSchemaErrors({ ...withoutPods, extra: 1 })).to.deep.equal([
      "/ must have required property 'pods'",
      "/ must NOT have additional properties",
    ]);
  });

  it("reads the ingress groups from the holding stack's config file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-project-"));
    fs.writeFileSync(
      path.join(dir, "Pulumi.stage2.yaml"),
      'config:\n  cni-migration:stage: "2"\n  cni-migration:ingressInstanceGroups: ["ingress"]\n',
    );
    const withFile = io(stage2);
    await runStatus(options({ json: true, projectDir: dir }), withFile);
    const without = io(stage2);
    await runStatus(options({ json: true }), without);
    const target = (out: string): unknown =>
      (
        JSON.parse(out) as { instanceGroups: { name: string; target: string }[] }
      ).instanceGroups.find((g) => g.name === "ingress")?.target;
    expect([target(withFile.out), target(without.out)]).to.deep.equal([
      "dual-canal-primary",
      "dual-cilium-primary",
    ]);
  });

  it("prints tables, the broken node, the wrong-network pod and the roll's progress", async () => {
    const c = io(stage2);
    const code = await runStatus(options({ ingress: ["ingress"] }), c);
    expect(code).to.equal(1);
    expect(c.out.split("\n")).to.deep.equal([
      "cluster: context recorded, read at 2026-12-03T10:00:00.000Z",
      "stage:   stage 2 (dual, cilium primary), held by stack stage2",
      "next:    stage 3 with `cni-migration promote --to 3` (blocked)",
      "verdict: fail",
      "",
      "PROBLEMS",
      "  - 1 node is broken: nodes-new-2. Fix what each lacks (see the broken nodes) or replace it with `kops delete instance NAME --yes`.",
      "  - 1 pod has a primary network its node does not intend: shop/cart-1 on nodes-old-1 (cilium, node intends canal). Delete it so it is recreated through Multus.",
      "",
      "BLOCKING THE NEXT PROMOTION",
      "  - 3 nodes are not yet dual, cilium primary as stage 2 (dual, cilium primary) requires: nodes-old-1 (dual, canal primary), nodes-old-2 (dual, canal primary), nodes-new-2 (broken)",
      "  - DaemonSet kube-system/cilium has 6 of 7 pods ready; wait for it or look at its pods (`kubectl -n kube-system get pods -o wide`).",
      "",
      "INSTANCE GROUP     NODES  CANAL  DUAL/CANAL  DUAL/CILIUM  CILIUM  CILIUM+KPR  BROKEN  TARGET",
      "master-us-test-1a      1      0           0            1       0           0       0  dual, cilium primary",
      "ingress                1      0           1            0       0           0       0  dual, canal primary",
      "nodes                  5      0           2            2       0           0       1  dual, cilium primary",
      "total                  7      0           3            3       0           0       1",
      "  rolling nodes: [============------------------] 2/5 done, 3 left, ETA 60m00s",
      "",
      "BROKEN NODES",
      "  nodes-new-2 (nodes): Multus makes Cilium primary but no Cilium agent runs; Multus runs on a node that is not dual (it needs both canal and Cilium)",
      "",
      "DAEMONSET (kube-system)  READY  DESIRED  UP-TO-DATE",
      "canal                        7        7           7",
      "cilium                       6        7           7",
      "kube-multus                  3        3           3",
      "kube-multus-cilium           4        4           4",
      "",
      "PODS BY PRIMARY NETWORK  CIDR           PODS",
      "canal                    100.96.0.0/21     3",
      "cilium                   100.72.0.0/13     3",
      "host network                              29",
      "no address                                 2",
      "in neither network                         1",
      "",
      "PODS ON A NETWORK THEIR NODE DOES NOT INTEND (1)",
      "  shop/cart-1 on nodes-old-1: cilium, node intends canal",
      "",
    ]);
  });

  it("exits 3 when the cluster cannot be read, saying what to check", async () => {
    const failing: Lister = {
      context: "prod",
      list: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6443")),
    };
    const c = io(() => Promise.resolve(failing));
    expect(await runStatus(options({ json: true }), c)).to.equal(3);
    expect(c.out).to.equal("");
    expect(c.err).to.equal(
      "cni-migration: could not read the cluster: connect ECONNREFUSED 127.0.0.1:6443. Check the " +
        "kubeconfig context (--context, KUBECONFIG, `kubectl config current-context`) and that " +
        "the API server answers.\n",
    );
    const noConfig = io(() => Promise.reject(new Error("no kubeconfig")));
    expect(await runStatus(options(), noConfig)).to.equal(3);
  });

  describe("--watch", () => {
    it("redraws the screen every interval on a terminal", async () => {
      const c = io(stage2, { tty: true, maxReads: 3 });
      const code = await runStatus(options({ watch: true, interval: 2 }), c);
      expect(code).to.equal(1);
      expect(c.sleeps).to.deep.equal([2000, 2000]);
      expect(c.out.split("\x1b[2J\x1b[H").map((f) => f.split("\n")[0])).to.deep.equal([
        "",
        "cluster: context recorded, read at 2026-12-03T10:00:00.000Z",
        "cluster: context recorded, read at 2026-12-03T10:00:00.000Z",
        "cluster: context recorded, read at 2026-12-03T10:00:00.000Z",
      ]);
    });

    it("prints one JSON document a line with --json, and goes on when a read fails", async () => {
      let reads = 0;
      const flaky: Lister = {
        context: "recorded",
        list: (p, q) => {
          if (p === "/api/v1/nodes" && ++reads === 2) return Promise.reject(new Error("timeout"));
          return fixtureLister("status-stage2").list(p, q);
        },
      };
      const c = io(() => Promise.resolve(flaky), { maxReads: 3 });
      const code = await runStatus(options({ watch: true, json: true }), c);
      const lines = c.out.trimEnd().split("\n");
      expect(lines).to.have.length(3);
      const docs = lines.map((l) => JSON.parse(l) as { exitCode: number; error?: string });
      expect(docs.map((d) => d.exitCode)).to.deep.equal([1, 3, 1]);
      expect(docs[1]?.error).to.match(/^could not read the cluster: timeout\. /);
      expect(code).to.equal(1);
    });

    it("stops after the current read when told to", async () => {
      let stopped = false;
      const c = io(stage2, {
        stopped: () => stopped,
        sleep: () => {
          stopped = true;
          return Promise.resolve();
        },
      });
      expect(await runStatus(options({ watch: true }), c)).to.equal(1);
      expect(c.out.match(/^cluster: /gm)).to.have.length(1);
    });
  });
});
