/**
 * The decisions of `cni-migration promote`, pure so they unit-test: which stack holds the
 * cluster, whether the requested stage may follow, what the promotion must do (gates, move,
 * `up`), what blocks it, and how a promotion is recorded in the cluster. The IO that carries the
 * decisions out is in promote-run.ts.
 */
import { StageRecord } from "./cluster";
import { Transition, transition } from "./plan";
import { stageStack } from "./stacks";
import { Stage, describeStage } from "./stage";

/** What the backend and the cluster say about who holds the cluster. */
export interface HoldingState {
  /** The stages whose stack holds resources of the cluster, in stage order. */
  readonly holders: readonly Stage[];
  /** kube-system/cni-migration-stage; undefined when absent. */
  readonly record: StageRecord | undefined;
  /** `--stack-prefix`; empty for `stage0` ... `stage4`. */
  readonly prefix: string;
}

/**
 * - `start`: the first stage 0, nothing held yet: no stage has rolled, so no gates before (the
 *   program's preflight checks the cluster);
 * - `forward` / `back`: move the state from the holding stack to the target stack, then `up`;
 * - `resume`: the target stack holds the cluster but its stage is not recorded as applied (an
 *   interrupted promotion): no gates before, no move, `up` again;
 * - `reapply`: the target stage is applied already: `up` again to converge.
 */
export type PromotionKind = "start" | "forward" | "back" | "resume" | "reapply";

export interface PromotionPlan {
  readonly kind: PromotionKind;
  readonly to: Stage;
  /** The stage whose stack holds the cluster now; undefined before stage 0. */
  readonly holder: Stage | undefined;
  /** The stage recorded as applied, which the gates before check; undefined before stage 0. */
  readonly current: Stage | undefined;
  /** Whether the state moves from the holder's stack to the target's. */
  readonly move: boolean;
  /** Whether the gates before (settled stage, kops validate, soak) apply. */
  readonly gatesBefore: boolean;
  readonly transition: Transition;
}

/** A promotion refused before anything changed; the message says why and what to do. */
export class PromotionRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PromotionRefused";
  }
}

const MANUAL_PATHS: Partial<Record<Stage, string>> = {
  [Stage.CiliumKpr]:
    "by hand: set `spec.kubeProxy.enabled: true` with `kops edit cluster` and give the instance " +
    "groups the stage 2 labels, `kops update cluster --yes`, replace every Cilium-only node " +
    "with `kops rolling-update cluster --yes`, then move the state with `pulumi state move " +
    "--source STAGE3 --dest STAGE2 URN...` and run `cni-migration promote --to 2` to converge",
  [Stage.Complete]:
    "by hand: set `networking: {canal: {}}` with `kops edit cluster`, `kops update cluster " +
    "--yes` to reinstall canal, replace every node, and start the migration again from stage 0",
};

/** How to go back from an irreversible stage by hand, with the stack names filled in. */
export function manualPath(from: Stage, prefix: string): string {
  const text = MANUAL_PATHS[from] ?? "no manual path is needed: the move is reversible";
  return text
    .replace("STAGE3", stageStack(Stage.CiliumKpr, prefix))
    .replace("STAGE2", stageStack(Stage.DualCiliumPrimary, prefix));
}

function refuse(message: string): never {
  throw new PromotionRefused(message);
}

/**
 * Decides what `promote --to N` does, or refuses with why and what to do instead. Only the next
 * stage, or the previous one where {@link transition} calls going back reversible, is allowed;
 * a target stack that already holds the cluster is an interrupted promotion to finish.
 */
export function planPromotion(state: HoldingState, to: Stage): PromotionPlan {
  const { holders, record, prefix } = state;
  const stack = (s: Stage): string => stageStack(s, prefix);
  if (holders.length > 1) {
    refuse(
      `stacks ${holders.map(stack).join(" and ")} all hold resources of the cluster; only one ` +
        `may. Inspect them with \`pulumi stack -s NAME --show-urns\`, move the resources into ` +
        `one of them with \`pulumi state move --source A --dest B URN...\`, then promote again.`,
    );
  }
  const holder = holders[0];
  if (holder === undefined) {
    if (record !== undefined) {
      refuse(
        `the cluster records that stack ${record.stack} holds it at ${describeStage(record.stage)}, ` +
          `but no stage stack${prefix ? ` with prefix ${JSON.stringify(prefix)}` : ""} holds ` +
          `any resource. Check the backend (PULUMI_BACKEND_URL, \`pulumi whoami -v\`) and ` +
          `--stack-prefix.`,
      );
    }
    const t = transition(undefined, to);
    if (!t.allowed) refuse(`cannot promote to ${describeStage(to)}: ${t.reason}.`);
    return {
      kind: "start",
      to,
      holder,
      current: undefined,
      move: false,
      gatesBefore: false,
      transition: t,
    };
  }
  const recordStack = record?.stack;
  if (holder === to) {
    const applied = record?.stage === to && recordStack === stack(to);
    return {
      kind: applied ? "reapply" : "resume",
      to,
      holder,
      current: record?.stage,
      move: false,
      gatesBefore: false,
      transition: transition(record?.stage, to),
    };
  }
  if (recordStack !== undefined && recordStack !== stack(holder)) {
    refuse(
      `the cluster records that stack ${recordStack} holds it, but the resources are in stack ` +
        `${stack(holder)}. Promote to ${describeStage(holder)} (\`cni-migration promote --to ` +
        `${holder}\`) to finish the move that was interrupted, or fix the record with ` +
        `\`kubectl -n kube-system patch configmap cni-migration-stage --type merge -p ` +
        `'{"data":{"stack":"${stack(holder)}"}}'\`.`,
    );
  }
  if (record?.stage !== holder) {
    const back = record !== undefined && to === record.stage && transition(holder, to).allowed;
    if (!back) {
      refuse(
        `stack ${stack(holder)} holds the cluster but ${describeStage(holder)} has not finished ` +
          `applying (the cluster records ${record === undefined ? "no stage" : describeStage(record.stage)}). ` +
          `Finish it first with \`cni-migration promote --to ${holder}\`.`,
      );
    }
  }
  const t = transition(holder, to);
  if (!t.allowed) {
    const goingBack = to < holder;
    refuse(
      `cannot move from ${describeStage(holder)} to ${describeStage(to)}: ${t.reason}.` +
        (goingBack && MANUAL_PATHS[holder] !== undefined
          ? ` Going back is possible only ${manualPath(holder, prefix)}.`
          : ""),
    );
  }
  return {
    kind: to > holder ? "forward" : "back",
    to,
    holder,
    current: record?.stage,
    move: true,
    gatesBefore: record?.stage === holder,
    transition: t,
  };
}

/** One promotion as the cluster records it in kube-system/cni-migration-history. */
export interface PromotionEntry {
  readonly stage: Stage;
  readonly stack: string;
  readonly from: string | null;
  /** ISO time the `up` finished. */
  readonly at: string;
  readonly by: string;
  /**
   * The update's version as the backend numbers it (Pulumi Cloud); a DIY backend (S3, file)
   * numbers none, so there it is the count of the stack's updates, `pulumi stack history`'s.
   */
  readonly update: number | null;
  readonly kind: PromotionKind;
}

export const HISTORY_CONFIGMAP = "cni-migration-history";
const ENTRY_KEY = /^promotion-(\d{4,})$/;

/** The key of the next entry, e.g. `promotion-0003`, after the keys already there. */
export function nextHistoryKey(data: Readonly<Record<string, string>>): string {
  const n = Object.keys(data)
    .map((k) => ENTRY_KEY.exec(k)?.[1])
    .filter((v): v is string => v !== undefined)
    .reduce((max, v) => Math.max(max, Number(v)), 0);
  return `promotion-${String(n + 1).padStart(4, "0")}`;
}

/** The entries of the history ConfigMap, oldest first; unparseable entries are skipped. */
export function historyEntries(data: Readonly<Record<string, string>>): PromotionEntry[] {
  return Object.keys(data)
    .filter((k) => ENTRY_KEY.test(k))
    .sort()
    .flatMap((k) => {
      try {
        return [JSON.parse(data[k] ?? "") as PromotionEntry];
      } catch {
        return [];
      }
    });
}

/**
 * What keeps the minimum soak from having passed, or undefined when it has: the time since the
 * last recorded promotion against `--min-soak`.
 */
export function soakBlocker(
  last: PromotionEntry | undefined,
  now: Date,
  minSoakSeconds: number,
): string | undefined {
  if (minSoakSeconds <= 0 || last === undefined) return undefined;
  const elapsed = Math.floor((now.getTime() - Date.parse(last.at)) / 1000);
  if (elapsed >= minSoakSeconds) return undefined;
  return (
    `${describeStage(last.stage)} was applied at ${last.at}, ${elapsed}s ago; --min-soak asks ` +
    `for ${minSoakSeconds}s. Promote again after ${new Date(Date.parse(last.at) + minSoakSeconds * 1000).toISOString()}, ` +
    `or lower --min-soak.`
  );
}

/**
 * What keeps a stage from having settled, from a status report: its blockers, i.e. nodes not in
 * the state the stage requires (broken nodes included) and DaemonSets with pods not ready. The
 * report's other problems (pods on a network their node does not intend) are warned about: they
 * are fixed by deleting the pods, not by waiting, and do not stop a promotion.
 */
export function gateBlockers(report: { readonly blockers: readonly string[] }): string[] {
  return [...report.blockers];
}

/** One line of progress while waiting for a stage's rolls. */
export function rollProgressLine(
  stage: Stage,
  groups: readonly { name: string; done: number; nodes: number; rolling: boolean }[],
  elapsedSeconds: number,
  waitingFor: string,
): string {
  const parts = groups.map((g) => `${g.name} ${g.done}/${g.nodes}${g.rolling ? " rolling" : ""}`);
  return (
    `${describeStage(stage)}: waiting for the rolls (${elapsedSeconds}s): ${parts.join(", ")}; ` +
    `waiting for: ${waitingFor}`
  );
}
