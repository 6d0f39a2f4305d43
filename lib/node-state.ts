/**
 * The migration state of one node, from what runs on it: which CNI pods, which Multus flavour,
 * kube-proxy, and whether Cilium's kube-proxy replacement is on there. Shared by `status`, the
 * promotion gates and the rehearsal's invariant checks.
 */
import { CANAL_LABEL, CILIUM_LABEL, PRIORITY_LABEL } from "./labels";

/** What runs on a node, as read from its pods and Cilium's configuration. */
export interface NodeRuntime {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ready: boolean;
  /** A running, ready pod of each kind on the node. */
  readonly canal: boolean;
  readonly cilium: boolean;
  readonly multusCanalPrimary: boolean;
  readonly multusCiliumPrimary: boolean;
  readonly kubeProxy: boolean;
  /** Cilium's kube-proxy replacement is on for this node (config and CiliumNodeConfigs). */
  readonly kprEnabled: boolean;
}

export type NodeState =
  | "canal-only"
  | "dual-canal-primary"
  | "dual-cilium-primary"
  | "cilium-only"
  | "cilium-kpr"
  | "broken";

export const NODE_STATES: readonly NodeState[] = [
  "canal-only",
  "dual-canal-primary",
  "dual-cilium-primary",
  "cilium-only",
  "cilium-kpr",
  "broken",
];

/** How people read each state. */
export const NODE_STATE_TITLES: Record<NodeState, string> = {
  "canal-only": "canal only",
  "dual-canal-primary": "dual, canal primary",
  "dual-cilium-primary": "dual, cilium primary",
  "cilium-only": "cilium only",
  "cilium-kpr": "cilium with kube-proxy replacement",
  broken: "broken",
};

export type Network = "canal" | "cilium";

export interface NodeAssessment {
  readonly name: string;
  readonly state: NodeState;
  /** The pod networks that are primary for new pods: exactly one on a healthy node. */
  readonly primaries: readonly Network[];
  /** What proxies services: exactly one on a healthy node. */
  readonly proxies: readonly ("kube-proxy" | "cilium-kpr")[];
  /** What a broken node lacks or has twice, in words. Empty when healthy. */
  readonly problems: readonly string[];
}

/**
 * The primary networks of a node. Multus decides where it runs; without it, the kubelet uses the
 * first CNI config by name, and Cilium's `05-cilium.conflist` sorts before canal's
 * `10-canal.conflist`.
 */
export function primaryNetworks(n: NodeRuntime): Network[] {
  if (n.multusCanalPrimary || n.multusCiliumPrimary) {
    const out: Network[] = [];
    if (n.multusCanalPrimary && n.canal) out.push("canal");
    if (n.multusCiliumPrimary && n.cilium) out.push("cilium");
    return out;
  }
  if (n.cilium) return ["cilium"];
  if (n.canal) return ["canal"];
  return [];
}

export function assessNode(n: NodeRuntime): NodeAssessment {
  const primaries = primaryNetworks(n);
  const kpr = n.cilium && n.kprEnabled;
  const proxies = [
    ...(n.kubeProxy ? (["kube-proxy"] as const) : []),
    ...(kpr ? (["cilium-kpr"] as const) : []),
  ];
  const problems: string[] = [];
  if (!n.ready) problems.push("node is not Ready");
  if (n.multusCanalPrimary && n.multusCiliumPrimary) {
    problems.push("both Multus DaemonSets run here: two primary networks");
  } else if (primaries.length === 0) {
    if (n.multusCanalPrimary) problems.push("Multus makes canal primary but no canal pod runs");
    else if (n.multusCiliumPrimary)
      problems.push("Multus makes Cilium primary but no Cilium agent runs");
    else problems.push("no CNI runs: neither a canal pod nor a Cilium agent");
  }
  if (proxies.length === 0) {
    problems.push(
      n.cilium
        ? "no service proxy: no kube-proxy and Cilium's kube-proxy replacement is off here"
        : "no service proxy: no kube-proxy and no Cilium agent",
    );
  } else if (proxies.length === 2) {
    problems.push("two service proxies: kube-proxy and Cilium's kube-proxy replacement");
  }
  const multus = n.multusCanalPrimary || n.multusCiliumPrimary;
  if (n.canal && n.cilium && !multus) {
    problems.push("dual node without Multus: new pods get Cilium alone, whatever the node intends");
  }
  if (multus && !(n.canal && n.cilium)) {
    problems.push("Multus runs on a node that is not dual (it needs both canal and Cilium)");
  }
  let state: NodeState = "broken";
  if (problems.length === 0) {
    if (n.canal && n.cilium)
      state = primaries[0] === "canal" ? "dual-canal-primary" : "dual-cilium-primary";
    else if (n.canal) state = "canal-only";
    else state = kpr ? "cilium-kpr" : "cilium-only";
  }
  return { name: n.name, state, primaries, proxies, problems };
}

/**
 * The primary network a node's labels ask for: `cni-priority` on a dual node, else the one CNI it
 * is labelled for. Undefined when the labels name none (before stage 0 and after stage 4, when
 * the node carries no migration label).
 */
export function intendedNetwork(labels: Readonly<Record<string, string>>): Network | undefined {
  const canal = labels[CANAL_LABEL] === "true";
  const cilium = labels[CILIUM_LABEL] === "true";
  const priority = labels[PRIORITY_LABEL];
  if (canal && cilium) return priority === "canal" || priority === "cilium" ? priority : undefined;
  if (cilium) return "cilium";
  if (canal) return "canal";
  return undefined;
}
