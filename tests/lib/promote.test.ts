import { expect } from "chai";
import {
  HoldingState,
  PromotionRefused,
  historyEntries,
  manualPath,
  nextHistoryKey,
  planPromotion,
  rollProgressLine,
  soakBlocker,
  gateBlockers,
} from "../../lib/promote";
import { Stage } from "../../lib/stage";

const held = (
  holder: Stage | undefined,
  recordStage?: Stage,
  recordStack?: string,
): HoldingState => ({
  holders: holder === undefined ? [] : [holder],
  record:
    recordStage === undefined
      ? undefined
      : { stage: recordStage, stack: recordStack ?? `stage${recordStage}` },
  prefix: "",
});

function refusal(state: HoldingState, to: Stage): string {
  try {
    planPromotion(state, to);
  } catch (e) {
    expect(e).to.be.instanceOf(PromotionRefused);
    return (e as Error).message;
  }
  throw new Error("expected a refusal");
}

describe("planning a promotion", () => {
  it("starts a new migration at stage 0 without gates before (no stage has rolled) or a move", () => {
    const plan = planPromotion(held(undefined), Stage.Prepare);
    expect(plan).to.deep.include({
      kind: "start",
      to: 0,
      holder: undefined,
      current: undefined,
      move: false,
      gatesBefore: false,
    });
  });

  it("promotes to the next stage: gates before, then a move from the holding stack", () => {
    const plan = planPromotion(held(Stage.DualCanalPrimary, 1), Stage.DualCiliumPrimary);
    expect(plan).to.deep.include({
      kind: "forward",
      holder: 1,
      current: 1,
      move: true,
      gatesBefore: true,
    });
    expect(plan.transition.reversible).to.equal(true);
  });

  it("marks stage 3 as a forward move that cannot be undone, with the reason", () => {
    const plan = planPromotion(held(Stage.DualCiliumPrimary, 2), Stage.CiliumKpr);
    expect(plan.kind).to.equal("forward");
    expect(plan.transition.reversible).to.equal(false);
    expect(plan.transition.reason).to.match(/^nodes replaced in stage 3 run Cilium alone/);
  });

  it("goes back from stage 2 to 1 through a move, as a reversible transition", () => {
    const plan = planPromotion(held(Stage.DualCiliumPrimary, 2), Stage.DualCanalPrimary);
    expect(plan).to.deep.include({ kind: "back", holder: 2, move: true, gatesBefore: true });
    expect(plan.transition.reason).to.equal("going back from stage 2");
  });

  it("refuses a skipped stage, naming the next one", () => {
    expect(refusal(held(Stage.DualCanalPrimary, 1), Stage.CiliumKpr)).to.equal(
      "cannot move from stage 1 (dual, canal primary) to stage 3 (cilium + KPR): stages are " +
        "applied one at a time and stage 1 (dual, canal primary) is applied; the next stage is " +
        "stage 2 (dual, cilium primary).",
    );
  });

  it("refuses any stage but 0 when nothing is held and nothing recorded", () => {
    expect(refusal(held(undefined), Stage.DualCanalPrimary)).to.equal(
      "cannot promote to stage 1 (dual, canal primary): the cluster has no migration record, so " +
        "it has not been through stage 0 (prepare); apply stage 0 first.",
    );
  });

  it("refuses going back from stage 3 and gives the manual path", () => {
    const msg = refusal(held(Stage.CiliumKpr, 3), Stage.DualCiliumPrimary);
    expect(msg).to.equal(
      "cannot move from stage 3 (cilium + KPR) to stage 2 (dual, cilium primary): stage 3 " +
        "(cilium + KPR) cannot be undone by the program: nodes replaced in stage 3 run Cilium " +
        "alone without kube-proxy; going back needs kube-proxy re-enabled in the kops spec and " +
        "every such node replaced by hand, while the CiliumNodeConfig keeps KPR off on dual " +
        `nodes. Going back is possible only ${manualPath(Stage.CiliumKpr, "")}.`,
    );
    expect(manualPath(Stage.CiliumKpr, "prod")).to.contain(
      "`pulumi state move --source prod-stage3 --dest prod-stage2 URN...`",
    );
  });

  it("refuses when two stacks hold resources", () => {
    const state: HoldingState = {
      holders: [1, 2],
      record: { stage: 1, stack: "stage1" },
      prefix: "",
    };
    expect(refusal(state, Stage.DualCiliumPrimary)).to.match(
      /^stacks stage1 and stage2 all hold resources of the cluster; only one may\./,
    );
  });

  it("refuses when the record names a holder but no stack holds anything", () => {
    const state: HoldingState = {
      holders: [],
      record: { stage: 1, stack: "a-stage1" },
      prefix: "a",
    };
    expect(refusal(state, Stage.DualCiliumPrimary)).to.equal(
      "the cluster records that stack a-stage1 holds it at stage 1 (dual, canal primary), but no " +
        'stage stack with prefix "a" holds any resource. Check the backend (PULUMI_BACKEND_URL, ' +
        "`pulumi whoami -v`) and --stack-prefix.",
    );
  });

  it("resumes an interrupted promotion: the target holds, the record is one stage behind", () => {
    const plan = planPromotion(held(Stage.DualCiliumPrimary, 1, "stage1"), Stage.DualCiliumPrimary);
    expect(plan).to.deep.include({ kind: "resume", move: false, gatesBefore: false, current: 1 });
    const recorded = planPromotion(held(Stage.DualCiliumPrimary, 1, "stage2"), 2);
    expect(recorded.kind).to.equal("resume");
  });

  it("re-applies a stage that is applied already", () => {
    const plan = planPromotion(held(Stage.DualCiliumPrimary, 2), Stage.DualCiliumPrimary);
    expect(plan).to.deep.include({ kind: "reapply", move: false, gatesBefore: false });
  });

  it("refuses the next stage while the holder's own stage has not finished applying", () => {
    expect(refusal(held(Stage.DualCiliumPrimary, 1, "stage2"), Stage.CiliumKpr)).to.equal(
      "stack stage2 holds the cluster but stage 2 (dual, cilium primary) has not finished " +
        "applying (the cluster records stage 1 (dual, canal primary)). Finish it first with " +
        "`cni-migration promote --to 2`.",
    );
  });

  it("lets an unfinished stage go back to the recorded one, without the gates before", () => {
    const plan = planPromotion(held(Stage.DualCiliumPrimary, 1, "stage2"), Stage.DualCanalPrimary);
    expect(plan).to.deep.include({ kind: "back", move: true, gatesBefore: false });
  });

  it("refuses when the record names another stack than the one holding the resources", () => {
    expect(refusal(held(Stage.DualCanalPrimary, 1, "stage0"), Stage.DualCiliumPrimary)).to.match(
      /^the cluster records that stack stage0 holds it, but the resources are in stack stage1\./,
    );
  });
});

describe("the gates and the record of promotions", () => {
  const entry = (at: string): string =>
    JSON.stringify({
      stage: 1,
      stack: "stage1",
      from: "stage0",
      at,
      by: "a",
      update: 3,
      kind: "forward",
    });

  it("numbers history entries after the highest one", () => {
    expect(nextHistoryKey({})).to.equal("promotion-0001");
    expect(nextHistoryKey({ "promotion-0002": "{}", "promotion-0009": "{}", other: "x" })).to.equal(
      "promotion-0010",
    );
  });

  it("reads entries oldest first and skips broken ones", () => {
    const data = {
      "promotion-0002": entry("2024-01-02T00:00:00.000Z"),
      "promotion-0001": entry("2024-01-01T00:00:00.000Z"),
      "promotion-0003": "not json",
    };
    expect(historyEntries(data).map((e) => e.at)).to.deep.equal([
      "2024-01-01T00:00:00.000Z",
      "2024-01-02T00:00:00.000Z",
    ]);
  });

  it("blocks until the minimum soak has passed since the last promotion", () => {
    const last = historyEntries({ "promotion-0001": entry("2024-01-01T00:00:00.000Z") })[0];
    const at = (iso: string): Date => new Date(iso);
    expect(soakBlocker(last, at("2024-01-01T00:30:00.000Z"), 3600)).to.equal(
      "stage 1 (dual, canal primary) was applied at 2024-01-01T00:00:00.000Z, 1800s ago; " +
        "--min-soak asks for 3600s. Promote again after 2024-01-01T01:00:00.000Z, or lower --min-soak.",
    );
    expect(soakBlocker(last, at("2024-01-01T01:00:00.000Z"), 3600)).to.equal(undefined);
    expect(soakBlocker(undefined, at("2024-01-01T00:00:00.000Z"), 3600)).to.equal(undefined);
    expect(soakBlocker(last, at("2024-01-01T00:00:01.000Z"), 0)).to.equal(undefined);
  });

  it("blocks on the status's blockers only; its problems do not stop a promotion", () => {
    expect(gateBlockers({ blockers: ["b1", "b2"] })).to.deep.equal(["b1", "b2"]);
    expect(gateBlockers({ blockers: [] })).to.deep.equal([]);
  });

  it("reports roll progress per group", () => {
    const groups = [
      { name: "master", done: 1, nodes: 1, rolling: false },
      { name: "nodes", done: 1, nodes: 3, rolling: true },
    ];
    expect(rollProgressLine(Stage.DualCanalPrimary, groups, 42, "kops validate")).to.equal(
      "stage 1 (dual, canal primary): waiting for the rolls (42s): master 1/1, nodes 1/3 " +
        "rolling; waiting for: kops validate",
    );
  });
});
