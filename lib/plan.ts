/**
 * The stage plan: what each stage declares, as pure data. The Pulumi components, the CLI and the
 * tests all read it, so there is one truth about each stage.
 */
import { CANAL_LABEL, CILIUM_LABEL, PRIORITY_LABEL } from "./labels";
import { Stage, describeStage } from "./stage";

/** An instance group as far as the plan cares: its name and kops role. */
export interface GroupRef {
  readonly name: string;
  /** `Master`/`ControlPlane`, `APIServer`, `Node` or `Bastion`, as kops writes `spec.role`. */
  readonly role: string;
}

export type GroupKind = "control-plane" | "ingress" | "node" | "bastion";

/** How the migration treats a group: bastions are never touched, ingress groups lag behind. */
export function groupKind(group: GroupRef, ingressGroups: readonly string[]): GroupKind {
  const role = group.role.toLowerCase();
  if (role === "bastion") return "bastion";
  if (role === "master" || role === "controlplane" || role === "apiserver") return "control-plane";
  return ingressGroups.includes(group.name) ? "ingress" : "node";
}

/**
 * The migration-owned node labels an instance group carries in a stage. Labels the migration
 * does not own are never part of this and are kept as they are.
 */
export function desiredNodeLabels(stage: Stage, ingress: boolean): Record<string, string> {
  switch (stage) {
    case Stage.Prepare:
      return { [CANAL_LABEL]: "true" };
    case Stage.DualCanalPrimary:
      return { [CANAL_LABEL]: "true", [CILIUM_LABEL]: "true", [PRIORITY_LABEL]: "canal" };
    case Stage.DualCiliumPrimary:
      return {
        [CANAL_LABEL]: "true",
        [CILIUM_LABEL]: "true",
        [PRIORITY_LABEL]: ingress ? "canal" : "cilium",
      };
    case Stage.CiliumKpr:
      return { [CILIUM_LABEL]: "true" };
    case Stage.Complete:
      return {};
  }
}

/** One `kops rolling-update` of one instance group. */
export interface RollStep {
  readonly instanceGroup: string;
  readonly kind: GroupKind;
}

/**
 * The groups a stage rolls, in order: none in stages 0 and 4; control plane then the rest in
 * stages 1 and 2; ingress groups, then control plane, then the rest in stage 3. Bastions never.
 * Within a kind, groups keep the order kops lists them in.
 */
export function rollOrder(
  stage: Stage,
  groups: readonly GroupRef[],
  ingressGroups: readonly string[],
): RollStep[] {
  const of = (kind: GroupKind): RollStep[] =>
    groups
      .filter((g) => groupKind(g, ingressGroups) === kind)
      .map((g) => ({ instanceGroup: g.name, kind }));
  switch (stage) {
    case Stage.Prepare:
    case Stage.Complete:
      return [];
    case Stage.DualCanalPrimary:
    case Stage.DualCiliumPrimary:
      return [...of("control-plane"), ...of("ingress"), ...of("node")];
    case Stage.CiliumKpr:
      return [...of("ingress"), ...of("control-plane"), ...of("node")];
  }
}

/** Whether the kops cluster spec disables kube-proxy in a stage (`spec.kubeProxy.enabled`). */
export function kubeProxyDisabled(stage: Stage): boolean {
  return stage >= Stage.CiliumKpr;
}

/** Which of the migration's objects exist in a stage. */
export interface StageObjects {
  /** The canal DaemonSet is patched (nodeSelector, /run/flannel); false once it is deleted. */
  readonly canalPatch: boolean;
  /** The canal DaemonSet and calico-kube-controllers are deleted. */
  readonly canalRemoved: boolean;
  /** Multus: CRD, RBAC, ConfigMap and its two DaemonSets. */
  readonly multus: boolean;
  /** The `cilium.io/v2` CiliumNodeConfig that turns KPR off on dual nodes. */
  readonly kprNodeConfig: boolean;
  /** The temporary CiliumClusterwideNetworkPolicy, when network policies are kept. */
  readonly temporaryPolicy: boolean;
  /** Existing nodes are labelled canal in place (no roll). */
  readonly labelExistingNodes: boolean;
  /** Which Cilium values file the stage starts from. */
  readonly ciliumValues: "stage0" | "stage3" | "stage4";
}

/** The objects of a stage; `keepPolicies` is the `networkPolicies: keep` setting. */
export function stageObjects(stage: Stage, keepPolicies: boolean): StageObjects {
  const complete = stage === Stage.Complete;
  return {
    canalPatch: !complete,
    canalRemoved: complete,
    multus: !complete,
    kprNodeConfig: stage === Stage.CiliumKpr,
    temporaryPolicy: keepPolicies && !complete,
    labelExistingNodes: stage === Stage.Prepare,
    ciliumValues: stage < Stage.CiliumKpr ? "stage0" : complete ? "stage4" : "stage3",
  };
}

/** Whether moving from one stage to another is allowed, and why. */
export interface Transition {
  readonly from: Stage | undefined;
  readonly to: Stage;
  readonly allowed: boolean;
  /** Going back is possible without a manual repair. */
  readonly reversible: boolean;
  readonly reason: string;
}

const IRREVERSIBLE_REASONS: Partial<Record<Stage, string>> = {
  [Stage.CiliumKpr]:
    "nodes replaced in stage 3 run Cilium alone without kube-proxy; going back needs kube-proxy " +
    "re-enabled in the kops spec and every such node replaced by hand, while the " +
    "CiliumNodeConfig keeps KPR off on dual nodes",
  [Stage.Complete]:
    "canal, calico-kube-controllers and Multus have been deleted and the nodes no longer carry " +
    "the canal label; going back means reinstalling canal through kops and rolling every node",
};

/**
 * Whether the stage `from` (undefined: the cluster has no record yet) can move to `to`. Forward
 * moves go one stage at a time; going back one stage is allowed where the stage being left can
 * be undone by the program alone.
 */
export function transition(from: Stage | undefined, to: Stage): Transition {
  const base = { from, to };
  if (from === undefined) {
    return to === Stage.Prepare
      ? { ...base, allowed: true, reversible: true, reason: "a new migration starts at stage 0" }
      : {
          ...base,
          allowed: false,
          reversible: false,
          reason:
            `the cluster has no migration record, so it has not been through stage 0 (prepare); ` +
            `apply stage 0 first`,
        };
  }
  if (from === to) {
    return { ...base, allowed: true, reversible: true, reason: `re-applying ${describeStage(to)}` };
  }
  if (to === from + 1) {
    const irreversible = IRREVERSIBLE_REASONS[to];
    return {
      ...base,
      allowed: true,
      reversible: irreversible === undefined,
      reason: irreversible ?? `${describeStage(to)} can be undone by going back to stage ${from}`,
    };
  }
  if (to === from - 1) {
    const irreversible = IRREVERSIBLE_REASONS[from];
    return irreversible === undefined
      ? { ...base, allowed: true, reversible: true, reason: `going back from stage ${from}` }
      : {
          ...base,
          allowed: false,
          reversible: false,
          reason: `${describeStage(from)} cannot be undone by the program: ${irreversible}`,
        };
  }
  return {
    ...base,
    allowed: false,
    reversible: false,
    reason:
      `stages are applied one at a time and ${describeStage(from)} is applied; ` +
      `the next stage is ${from + 1 <= Stage.Complete ? describeStage(from + 1) : "none"}`,
  };
}
