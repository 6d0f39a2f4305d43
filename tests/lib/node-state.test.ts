import { expect } from "chai";
import { CANAL_LABEL, CILIUM_LABEL, PRIORITY_LABEL } from "../../lib/labels";
import { NodeRuntime, assessNode, intendedNetwork } from "../../lib/node-state";
import { NodeConfigLike, NodeLike, PodLike, nodeRuntimes } from "../../lib/snapshot";
import { fixtureConfigMapData, fixtureItems } from "../support/fixtures";

const DIR = "node-states";

/** The recorded stage 3 cluster: KPR on, off on dual nodes (and on a test label). */
function recordedAssessments(): Map<string, ReturnType<typeof assessNode>> {
  const runtimes = nodeRuntimes({
    nodes: fixtureItems<NodeLike>(DIR, "nodes.json"),
    pods: fixtureItems<PodLike>(DIR, "pods.json"),
    ciliumConfig: fixtureConfigMapData(DIR, "cilium-config.json"),
    nodeConfigs: fixtureItems<NodeConfigLike>(DIR, "ciliumnodeconfigs.json"),
  });
  return new Map(runtimes.map((r) => [r.name, assessNode(r)]));
}

describe("node migration states, from recorded API responses", () => {
  const assessed = recordedAssessments();
  const of = (name: string): ReturnType<typeof assessNode> => {
    const a = assessed.get(name);
    if (a === undefined) throw new Error(`no node ${name} in the fixture`);
    return a;
  };

  it("reads every node of the list, in order", () => {
    expect([...assessed.keys()]).to.deep.equal([
      "canal-only-1",
      "dual-canal-1",
      "dual-cilium-1",
      "cilium-only-1",
      "cilium-kpr-1",
      "no-primary-1",
      "multus-no-canal-1",
      "two-primaries-1",
      "no-proxy-1",
      "no-proxy-kpr-off-1",
      "two-proxies-1",
      "multus-not-dual-1",
      "dual-no-multus-1",
      "not-ready-1",
    ]);
  });

  describe("recognises each healthy state", () => {
    const cases: [string, string, string[], string[]][] = [
      ["canal-only-1", "canal-only", ["canal"], ["kube-proxy"]],
      ["dual-canal-1", "dual-canal-primary", ["canal"], ["kube-proxy"]],
      ["dual-cilium-1", "dual-cilium-primary", ["cilium"], ["kube-proxy"]],
      ["cilium-only-1", "cilium-only", ["cilium"], ["kube-proxy"]],
      ["cilium-kpr-1", "cilium-kpr", ["cilium"], ["cilium-kpr"]],
    ];
    for (const [name, state, primaries, proxies] of cases) {
      it(`${name} is ${state}`, () => {
        expect(of(name)).to.deep.equal({ name, state, primaries, proxies, problems: [] });
      });
    }
  });

  describe("recognises each kind of broken node and says what it lacks", () => {
    const cases: [string, string[], string[], string[]][] = [
      [
        "no-primary-1", // its canal pod runs but is not Ready; a cilium pod of `default` does not count
        [],
        ["kube-proxy"],
        ["no CNI runs: neither a canal pod nor a Cilium agent"],
      ],
      [
        "multus-no-canal-1",
        [],
        ["kube-proxy"],
        [
          "Multus makes canal primary but no canal pod runs",
          "Multus runs on a node that is not dual (it needs both canal and Cilium)",
        ],
      ],
      [
        "two-primaries-1",
        ["canal", "cilium"],
        ["kube-proxy"],
        ["both Multus DaemonSets run here: two primary networks"],
      ],
      [
        "no-proxy-1", // its kube-proxy pod has Failed
        ["canal"],
        [],
        ["no service proxy: no kube-proxy and no Cilium agent"],
      ],
      [
        "no-proxy-kpr-off-1",
        ["cilium"],
        [],
        ["no service proxy: no kube-proxy and Cilium's kube-proxy replacement is off here"],
      ],
      [
        "two-proxies-1",
        ["cilium"],
        ["kube-proxy", "cilium-kpr"],
        ["two service proxies: kube-proxy and Cilium's kube-proxy replacement"],
      ],
      [
        "multus-not-dual-1",
        ["canal"],
        ["kube-proxy"],
        ["Multus runs on a node that is not dual (it needs both canal and Cilium)"],
      ],
      [
        "dual-no-multus-1",
        ["cilium"],
        ["kube-proxy"],
        ["dual node without Multus: new pods get Cilium alone, whatever the node intends"],
      ],
      ["not-ready-1", ["canal"], ["kube-proxy"], ["node is not Ready"]],
    ];
    for (const [name, primaries, proxies, problems] of cases) {
      it(name, () => {
        expect(of(name)).to.deep.equal({ name, state: "broken", primaries, proxies, problems });
      });
    }
  });
});

describe("assessNode, on runtimes built by hand", () => {
  const base: NodeRuntime = {
    name: "n",
    labels: {},
    ready: true,
    canal: false,
    cilium: false,
    multusCanalPrimary: false,
    multusCiliumPrimary: false,
    kubeProxy: false,
    kprEnabled: false,
  };

  it("takes Cilium as primary on a dual node without Multus (05-cilium sorts first)", () => {
    const a = assessNode({ ...base, canal: true, cilium: true, kubeProxy: true });
    expect(a.primaries).to.deep.equal(["cilium"]);
  });

  it("counts KPR only where a Cilium agent runs", () => {
    const a = assessNode({ ...base, canal: true, kubeProxy: false, kprEnabled: true });
    expect(a.proxies).to.deep.equal([]);
    expect(a.problems).to.deep.equal(["no service proxy: no kube-proxy and no Cilium agent"]);
  });

  it("reports a Multus Cilium-primary node whose agent is missing", () => {
    const a = assessNode({ ...base, canal: true, multusCiliumPrimary: true, kubeProxy: true });
    expect(a.problems).to.deep.equal([
      "Multus makes Cilium primary but no Cilium agent runs",
      "Multus runs on a node that is not dual (it needs both canal and Cilium)",
    ]);
  });
});

describe("intendedNetwork", () => {
  it("follows cni-priority on dual-labelled nodes", () => {
    const dual = { [CANAL_LABEL]: "true", [CILIUM_LABEL]: "true" };
    expect(intendedNetwork({ ...dual, [PRIORITY_LABEL]: "canal" })).to.equal("canal");
    expect(intendedNetwork({ ...dual, [PRIORITY_LABEL]: "cilium" })).to.equal("cilium");
    expect(intendedNetwork(dual)).to.equal(undefined);
  });

  it("names the one CNI a node is labelled for, and none without migration labels", () => {
    expect(intendedNetwork({ [CANAL_LABEL]: "true" })).to.equal("canal");
    expect(intendedNetwork({ [CILIUM_LABEL]: "true" })).to.equal("cilium");
    expect(intendedNetwork({ [CANAL_LABEL]: "false" })).to.equal(undefined);
    expect(intendedNetwork({})).to.equal(undefined);
  });
});
