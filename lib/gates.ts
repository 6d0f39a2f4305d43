/**
 * What a stage requires of every node once its roll has finished, and which nodes are not there
 * yet. Pure: `status` shows it as what blocks the next promotion, and the promotion gates refuse
 * to move on while any node is listed.
 */
import { NODE_STATE_TITLES, NodeState } from "./node-state";
import { Stage, describeStage } from "./stage";

/**
 * The state every node of a group must reach in a stage. Stage 0 labels nodes in place and
 * starts no Cilium agent, so nodes stay canal only; stages 1 and 2 roll nodes into dual nodes
 * (ingress groups stay canal-primary in stage 2); from stage 3 every node runs Cilium alone
 * with kube-proxy replacement. Before stage 0 (no stage record) nodes are canal only too.
 */
export function targetState(stage: Stage | undefined, ingress: boolean): NodeState {
  switch (stage) {
    case undefined:
    case Stage.Prepare:
      return "canal-only";
    case Stage.DualCanalPrimary:
      return "dual-canal-primary";
    case Stage.DualCiliumPrimary:
      return ingress ? "dual-canal-primary" : "dual-cilium-primary";
    case Stage.CiliumKpr:
    case Stage.Complete:
      return "cilium-kpr";
  }
}

/** A node as the gates see it: its group and its assessed state. */
export interface GatedNode {
  readonly name: string;
  readonly instanceGroup: string;
  readonly state: NodeState;
}

export interface NodeOffTarget extends GatedNode {
  /** The state the stage requires of this node. */
  readonly target: NodeState;
}

/**
 * The nodes not in the state `stage` requires of them, in the order given. A stage has finished
 * rolling when this is empty; broken nodes are always listed.
 */
export function nodesNotInTargetState(
  stage: Stage | undefined,
  nodes: readonly GatedNode[],
  ingressGroups: readonly string[],
): NodeOffTarget[] {
  const out: NodeOffTarget[] = [];
  for (const n of nodes) {
    const target = targetState(stage, ingressGroups.includes(n.instanceGroup));
    if (n.state !== target) out.push({ ...n, target });
  }
  return out;
}

const MAX_LISTED = 5;

/**
 * One sentence per target state saying how many nodes have not reached it, naming a few, e.g.
 * `3 nodes are not yet dual, cilium primary as stage 2 (dual, cilium primary) requires: ...`.
 */
export function describeNodesOffTarget(
  stage: Stage | undefined,
  off: readonly NodeOffTarget[],
): string[] {
  const byTarget = new Map<NodeState, NodeOffTarget[]>();
  for (const n of off) {
    const list = byTarget.get(n.target) ?? [];
    list.push(n);
    byTarget.set(n.target, list);
  }
  const where = stage === undefined ? "before stage 0" : `as ${describeStage(stage)} requires`;
  return [...byTarget].map(([target, nodes]) => {
    const names = nodes
      .slice(0, MAX_LISTED)
      .map((n) => `${n.name} (${NODE_STATE_TITLES[n.state]})`);
    const more = nodes.length > MAX_LISTED ? ` and ${nodes.length - MAX_LISTED} more` : "";
    const count = nodes.length === 1 ? "1 node is" : `${nodes.length} nodes are`;
    return `${count} not yet ${NODE_STATE_TITLES[target]} ${where}: ${names.join(", ")}${more}`;
  });
}
