/**
 * The five stages of the migration. Each is a stable breakpoint that may last days: every
 * node keeps exactly one primary pod network and one service proxy while a stage holds.
 */
export enum Stage {
  /** Nodes labelled canal, canal pinned to them, Cilium and Multus installed on no node yet. */
  Prepare = 0,
  /** Replaced nodes run canal and Cilium side by side through Multus; canal is primary. */
  DualCanalPrimary = 1,
  /** Replaced nodes are dual with Cilium primary; ingress nodes stay canal-primary. */
  DualCiliumPrimary = 2,
  /** Replaced nodes run Cilium alone with eBPF kube-proxy replacement and no kube-proxy. */
  CiliumKpr = 3,
  /** Canal, Multus and the migration's temporary objects are gone; Cilium runs everywhere. */
  Complete = 4,
}

/** Every stage, in the order a migration goes through them. */
export const ALL_STAGES: readonly Stage[] = [
  Stage.Prepare,
  Stage.DualCanalPrimary,
  Stage.DualCiliumPrimary,
  Stage.CiliumKpr,
  Stage.Complete,
];

const STAGE_NAMES: Record<Stage, string> = {
  [Stage.Prepare]: "prepare",
  [Stage.DualCanalPrimary]: "dual, canal primary",
  [Stage.DualCiliumPrimary]: "dual, cilium primary",
  [Stage.CiliumKpr]: "cilium + KPR",
  [Stage.Complete]: "complete",
};

/** The short name of a stage, e.g. `dual, cilium primary`. */
export function stageName(stage: Stage): string {
  return STAGE_NAMES[stage];
}

/** How every message names a stage, e.g. `stage 2 (dual, cilium primary)`. */
export function describeStage(stage: Stage): string {
  return `stage ${stage} (${stageName(stage)})`;
}

/** The list of valid stages as help text: `0 (prepare), 1 (dual, canal primary), ...`. */
export function validStagesText(): string {
  return ALL_STAGES.map((s) => `${s} (${stageName(s)})`).join(", ");
}

/** Whether a number is one of the stages. */
export function isStage(value: number): value is Stage {
  return Number.isInteger(value) && value >= Stage.Prepare && value <= Stage.Complete;
}

/**
 * Reads a stage from config or a command line. Accepts `2` and `"2"`; anything else is refused
 * with the list of valid stages.
 */
export function parseStage(value: unknown, key: string): Stage {
  const n = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n === "number" && isStage(n)) {
    return n;
  }
  throw new Error(
    `\`${key}\` is ${JSON.stringify(value)}, which is not a stage. ` +
      `Valid stages: ${validStagesText()}. Set it to one of these numbers.`,
  );
}
