import { expect } from "chai";
import { Kube } from "../../cli/kube";
import { Stage } from "../../lib/stage";
import { InvariantMonitor } from "../../rehearsal/monitor";

const CANAL = { "node-role.kubernetes.io/canal": "true" };
const CILIUM = { "node-role.kubernetes.io/cilium": "true" };
const OLD = new Date(Date.now() - 3600_000);

interface World {
  nodes: { name: string; labels: Record<string, string>; podCIDR?: string; created?: Date }[];
  daemonSets: { name: string; selector: Record<string, string>; labels: Record<string, string> }[];
  kubeProxyOn: string[];
  kpr: boolean;
}

const canalDs = { name: "canal", selector: CANAL, labels: { "k8s-app": "canal" } };
const ciliumDs = { name: "cilium", selector: CILIUM, labels: { "k8s-app": "cilium" } };
const multus = (primary: "canal" | "cilium", selector: Record<string, string>) => ({
  name: primary === "canal" ? "kube-multus" : "kube-multus-cilium",
  selector,
  labels: { app: "multus", primary },
});
const dual = (priority: string) => ({
  ...CANAL,
  ...CILIUM,
  "node-role.kubernetes.io/cni-priority": priority,
});

/** A fake of the few API calls the monitor makes, answering from `world`. */
function fakeKube(world: World): Kube {
  const core = {
    listNode: () =>
      Promise.resolve({
        items: world.nodes.map((n) => ({
          metadata: { name: n.name, labels: n.labels, creationTimestamp: n.created ?? OLD },
          spec: { podCIDR: n.podCIDR ?? "100.96.1.0/24", podCIDRs: [n.podCIDR ?? "100.96.1.0/24"] },
          status: { conditions: [{ type: "Ready", status: "True" }] },
        })),
        metadata: {},
      }),
    listNamespacedPod: () =>
      Promise.resolve({
        items: world.kubeProxyOn.map((node) => ({
          metadata: { name: `kube-proxy-${node}`, labels: { "k8s-app": "kube-proxy" } },
          spec: { nodeName: node },
        })),
        metadata: {},
      }),
    readNamespacedConfigMap: () =>
      Promise.resolve({
        data: {
          "kube-proxy-replacement": world.kpr ? "true" : "false",
          "cluster-pool-ipv4-cidr": "100.72.0.0/13",
        },
      }),
  };
  const apps = {
    listNamespacedDaemonSet: () =>
      Promise.resolve({
        items: world.daemonSets.map((d) => ({
          metadata: { name: d.name },
          spec: {
            template: { metadata: { labels: d.labels }, spec: { nodeSelector: d.selector } },
          },
        })),
      }),
  };
  const custom = { listClusterCustomObject: () => Promise.resolve({ items: [] }) };
  return { core, apps, custom } as unknown as Kube;
}

async function violations(world: World, stage: Stage, ingress: string[] = []): Promise<string[]> {
  const m = new InvariantMonitor(fakeKube(world), { ingressGroups: ingress, graceSeconds: 5 });
  m.stage = stage;
  await m.checkOnce();
  expect(m.checks).to.equal(1);
  return m.violations.map((v) => `${v.invariant} ${v.node}: ${v.detail}`);
}

const healthy = (): World => ({
  nodes: [
    { name: "a", labels: CANAL },
    { name: "b", labels: dual("canal") },
    { name: "c", labels: dual("cilium") },
  ],
  daemonSets: [canalDs, ciliumDs, multus("canal", dual("canal")), multus("cilium", dual("cilium"))],
  kubeProxyOn: ["a", "b", "c"],
  kpr: false,
});

describe("the rehearsal's invariant monitor", () => {
  it("finds nothing wrong on canal, dual canal-primary and dual cilium-primary nodes", async () => {
    expect(await violations(healthy(), Stage.DualCiliumPrimary)).to.deep.equal([]);
  });

  it("reports a node that no CNI selects any more", async () => {
    const w = healthy();
    w.nodes.push({ name: "unlabelled", labels: {} });
    w.kubeProxyOn.push("unlabelled");
    expect(await violations(w, Stage.Prepare)).to.deep.equal([
      "1-one-primary-network unlabelled: stage 0: 0 primary networks (no CNI runs: neither a canal pod nor a Cilium agent)",
    ]);
  });

  it("does not judge a node that is still joining", async () => {
    const w = healthy();
    w.nodes.push({ name: "new", labels: {}, created: new Date() });
    expect(await violations(w, Stage.Prepare)).to.deep.equal([]);
  });

  it("reports kube-proxy next to Cilium's kube-proxy replacement, and a node with neither", async () => {
    const w: World = {
      nodes: [
        { name: "both", labels: CILIUM },
        { name: "neither", labels: CILIUM },
      ],
      daemonSets: [canalDs, ciliumDs],
      kubeProxyOn: ["both"],
      kpr: true,
    };
    expect(await violations(w, Stage.CiliumKpr)).to.deep.equal([
      "2-one-service-proxy both: stage 3: kube-proxy and Cilium KPR both run",
    ]);
    w.kpr = false;
    expect(await violations(w, Stage.CiliumKpr)).to.deep.equal([
      "2-one-service-proxy neither: stage 3: no service proxy",
    ]);
  });

  it("reports Multus DaemonSets whose selectors overlap or reach a node that is not dual", async () => {
    const w = healthy();
    w.daemonSets = [canalDs, ciliumDs, multus("canal", CANAL), multus("cilium", dual("cilium"))];
    expect(await violations(w, Stage.DualCanalPrimary)).to.deep.equal([
      "3-multus-selectors a: stage 1: kube-multus selects a node that is not dual",
      "3-multus-selectors c: stage 1: both Multus DaemonSets select this node",
      "1-one-primary-network c: stage 1: 2 primary networks (both Multus DaemonSets run here: two primary networks)",
    ]);
  });

  it("reports a node podCIDR inside the Cilium pool", async () => {
    const w = healthy();
    w.nodes[0] = { name: "a", labels: CANAL, podCIDR: "100.72.4.0/24" };
    expect(await violations(w, Stage.Prepare)).to.deep.equal([
      "4-cilium-pool-disjoint a: stage 0: node podCIDR 100.72.4.0/24 overlaps the Cilium pool 100.72.0.0/13",
    ]);
  });

  it("reports an ingress node that is Cilium-primary before stage 3", async () => {
    const w = healthy();
    w.nodes[2] = {
      name: "c",
      labels: { ...dual("cilium"), "kops.k8s.io/instancegroup": "ingress" },
    };
    expect(await violations(w, Stage.DualCiliumPrimary, ["ingress"])).to.deep.equal([
      "5-ingress-canal-primary c: stage 2: an ingress node is Cilium-primary before stage 3",
    ]);
  });

  it("reports canal deleted while a node is still labelled canal", async () => {
    const w = healthy();
    w.daemonSets = w.daemonSets.filter((d) => d.name !== "canal");
    const found = await violations(w, Stage.Complete);
    expect(found.filter((v) => v.startsWith("7-"))).to.deep.equal([
      "7-no-deletion-in-use a: stage 4: the canal DaemonSet is gone but the node is labelled canal",
      "7-no-deletion-in-use b: stage 4: the canal DaemonSet is gone but the node is labelled canal",
      "7-no-deletion-in-use c: stage 4: the canal DaemonSet is gone but the node is labelled canal",
    ]);
  });
});
