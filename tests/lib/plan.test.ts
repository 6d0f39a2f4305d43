import { expect } from "chai";
import { CANAL_LABEL, CILIUM_LABEL, PRIORITY_LABEL } from "../../lib/labels";
import { desiredNodeLabels, rollOrder, stageObjects, transition } from "../../lib/plan";
import { ALL_STAGES, Stage, describeStage, parseStage } from "../../lib/stage";

const groups = [
  { name: "bastions", role: "Bastion" },
  { name: "nodes-a", role: "Node" },
  { name: "master-a", role: "Master" },
  { name: "ingress", role: "Node" },
  { name: "cp-b", role: "ControlPlane" },
  { name: "nodes-b", role: "Node" },
];

describe("stage plan", () => {
  describe("node labels per instance group", () => {
    const table: [Stage, Record<string, string>, Record<string, string>][] = [
      [Stage.Prepare, { [CANAL_LABEL]: "true" }, { [CANAL_LABEL]: "true" }],
      [
        Stage.DualCanalPrimary,
        { [CANAL_LABEL]: "true", [CILIUM_LABEL]: "true", [PRIORITY_LABEL]: "canal" },
        { [CANAL_LABEL]: "true", [CILIUM_LABEL]: "true", [PRIORITY_LABEL]: "canal" },
      ],
      [
        Stage.DualCiliumPrimary,
        { [CANAL_LABEL]: "true", [CILIUM_LABEL]: "true", [PRIORITY_LABEL]: "cilium" },
        { [CANAL_LABEL]: "true", [CILIUM_LABEL]: "true", [PRIORITY_LABEL]: "canal" },
      ],
      [Stage.CiliumKpr, { [CILIUM_LABEL]: "true" }, { [CILIUM_LABEL]: "true" }],
      [Stage.Complete, {}, {}],
    ];
    for (const [stage, ordinary, ingress] of table) {
      it(`follows the stage table in ${describeStage(stage)}`, () => {
        expect(desiredNodeLabels(stage, false)).to.deep.equal(ordinary);
        expect(desiredNodeLabels(stage, true)).to.deep.equal(ingress);
      });
    }
    it("keeps ingress nodes canal-primary in stage 2", () => {
      expect(desiredNodeLabels(Stage.DualCiliumPrimary, true)[PRIORITY_LABEL]).to.equal("canal");
    });
  });

  describe("roll order", () => {
    it("rolls nothing in stages 0 and 4", () => {
      expect(rollOrder(Stage.Prepare, groups, ["ingress"])).to.deep.equal([]);
      expect(rollOrder(Stage.Complete, groups, ["ingress"])).to.deep.equal([]);
    });
    it("rolls the control plane first in stages 1 and 2, and never bastions", () => {
      for (const stage of [Stage.DualCanalPrimary, Stage.DualCiliumPrimary]) {
        expect(rollOrder(stage, groups, ["ingress"]).map((s) => s.instanceGroup)).to.deep.equal([
          "master-a",
          "cp-b",
          "ingress",
          "nodes-a",
          "nodes-b",
        ]);
      }
    });
    it("rolls ingress groups, then the control plane, then the rest in stage 3", () => {
      expect(rollOrder(Stage.CiliumKpr, groups, ["ingress"])).to.deep.equal([
        { instanceGroup: "ingress", kind: "ingress" },
        { instanceGroup: "master-a", kind: "control-plane" },
        { instanceGroup: "cp-b", kind: "control-plane" },
        { instanceGroup: "nodes-a", kind: "node" },
        { instanceGroup: "nodes-b", kind: "node" },
      ]);
    });
  });

  describe("objects per stage", () => {
    it("declares the CiliumNodeConfig in stage 3 only", () => {
      expect(ALL_STAGES.filter((s) => stageObjects(s, true).kprNodeConfig)).to.deep.equal([3]);
    });
    it("keeps the temporary policy until stage 4 only when policies are kept", () => {
      expect(ALL_STAGES.filter((s) => stageObjects(s, true).temporaryPolicy)).to.deep.equal([
        0, 1, 2, 3,
      ]);
      expect(ALL_STAGES.filter((s) => stageObjects(s, false).temporaryPolicy)).to.deep.equal([]);
    });
    it("removes canal and Multus in stage 4 only", () => {
      expect(ALL_STAGES.filter((s) => stageObjects(s, true).canalRemoved)).to.deep.equal([4]);
      expect(ALL_STAGES.filter((s) => !stageObjects(s, true).multus)).to.deep.equal([4]);
    });
  });

  describe("transitions", () => {
    it("starts a new migration only at stage 0", () => {
      expect(transition(undefined, Stage.Prepare).allowed).to.equal(true);
      expect(transition(undefined, Stage.DualCanalPrimary).reason).to.equal(
        "the cluster has no migration record, so it has not been through stage 0 (prepare); apply stage 0 first",
      );
    });
    it("moves forward one stage at a time", () => {
      expect(transition(Stage.DualCanalPrimary, Stage.DualCiliumPrimary).allowed).to.equal(true);
      const skip = transition(Stage.Prepare, Stage.DualCiliumPrimary);
      expect(skip.allowed).to.equal(false);
      expect(skip.reason).to.equal(
        "stages are applied one at a time and stage 0 (prepare) is applied; the next stage is stage 1 (dual, canal primary)",
      );
    });
    it("goes back from stages 1 and 2 but not from 3 or 4", () => {
      expect(transition(Stage.DualCiliumPrimary, Stage.DualCanalPrimary)).to.include({
        allowed: true,
        reversible: true,
      });
      expect(transition(Stage.DualCanalPrimary, Stage.Prepare)).to.include({
        allowed: true,
        reversible: true,
      });
      expect(transition(Stage.CiliumKpr, Stage.DualCiliumPrimary).allowed).to.equal(false);
      expect(transition(Stage.Complete, Stage.CiliumKpr).allowed).to.equal(false);
      expect(transition(Stage.DualCiliumPrimary, Stage.CiliumKpr).reversible).to.equal(false);
    });
  });

  it("refuses a stage out of range with the list of stages", () => {
    expect(() => parseStage("5", "stage")).to.throw(
      '`stage` is "5", which is not a stage. Valid stages: 0 (prepare), 1 (dual, canal primary), ' +
        "2 (dual, cilium primary), 3 (cilium + KPR), 4 (complete). Set it to one of these numbers.",
    );
  });
});
