import { expect } from "chai";
import { describeNodesOffTarget, nodesNotInTargetState, targetState } from "../../lib/gates";
import { Stage } from "../../lib/stage";

describe("the state each stage requires of nodes", () => {
  it("gives each stage its target, ingress groups canal-primary in stage 2 only", () => {
    const table = [undefined, 0, 1, 2, 3, 4].map((s) => [
      targetState(s as Stage | undefined, false),
      targetState(s as Stage | undefined, true),
    ]);
    expect(table).to.deep.equal([
      ["canal-only", "canal-only"],
      ["canal-only", "canal-only"],
      ["dual-canal-primary", "dual-canal-primary"],
      ["dual-cilium-primary", "dual-canal-primary"],
      ["cilium-kpr", "cilium-kpr"],
      ["cilium-kpr", "cilium-kpr"],
    ]);
  });

  it("lists the nodes not yet there, broken ones included, in the order given", () => {
    const nodes = [
      { name: "a", instanceGroup: "nodes", state: "dual-cilium-primary" as const },
      { name: "b", instanceGroup: "nodes", state: "dual-canal-primary" as const },
      { name: "c", instanceGroup: "ingress", state: "dual-canal-primary" as const },
      { name: "d", instanceGroup: "nodes", state: "broken" as const },
      { name: "e", instanceGroup: "ingress", state: "dual-cilium-primary" as const },
    ];
    expect(nodesNotInTargetState(Stage.DualCiliumPrimary, nodes, ["ingress"])).to.deep.equal([
      {
        name: "b",
        instanceGroup: "nodes",
        state: "dual-canal-primary",
        target: "dual-cilium-primary",
      },
      { name: "d", instanceGroup: "nodes", state: "broken", target: "dual-cilium-primary" },
      {
        name: "e",
        instanceGroup: "ingress",
        state: "dual-cilium-primary",
        target: "dual-canal-primary",
      },
    ]);
    expect(nodesNotInTargetState(Stage.DualCiliumPrimary, nodes.slice(0, 1), [])).to.deep.equal([]);
  });

  it("says in one sentence per target how many nodes are not there, naming five", () => {
    const off = ["n1", "n2", "n3", "n4", "n5", "n6", "n7"].map((name) => ({
      name,
      instanceGroup: "nodes",
      state: "dual-canal-primary" as const,
      target: "cilium-kpr" as const,
    }));
    off.push({
      name: "ing",
      instanceGroup: "ingress",
      state: "broken" as never,
      target: "canal-only" as never,
    });
    expect(describeNodesOffTarget(Stage.CiliumKpr, off)).to.deep.equal([
      "7 nodes are not yet cilium with kube-proxy replacement as stage 3 (cilium + KPR) requires: " +
        "n1 (dual, canal primary), n2 (dual, canal primary), n3 (dual, canal primary), " +
        "n4 (dual, canal primary), n5 (dual, canal primary) and 2 more",
      "1 node is not yet canal only as stage 3 (cilium + KPR) requires: ing (broken)",
    ]);
    expect(describeNodesOffTarget(undefined, off.slice(7))).to.deep.equal([
      "1 node is not yet canal only before stage 0: ing (broken)",
    ]);
  });
});
