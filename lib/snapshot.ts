/**
 * One consistent read of the cluster's migration-relevant state: nodes, the kube-system pods of
 * canal, Cilium, Multus and kube-proxy, Cilium's configuration and its CiliumNodeConfigs. Built
 * from paginated LIST calls only, then turned into one {@link NodeRuntime} per node.
 */
import { INSTANCE_GROUP_LABEL, KUBE_SYSTEM } from "./labels";
import { NodeRuntime } from "./node-state";

/** The parts of Kubernetes objects the snapshot reads. */
export interface PodLike {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly spec?: { readonly nodeName?: string; readonly hostNetwork?: boolean };
  readonly status?: {
    readonly phase?: string;
    readonly podIP?: string;
    readonly podIPs?: readonly { readonly ip: string }[];
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
  };
}
export interface NodeLike {
  readonly metadata?: {
    readonly name?: string;
    readonly labels?: Record<string, string>;
    readonly creationTimestamp?: Date | string;
  };
  readonly spec?: { readonly podCIDR?: string; readonly podCIDRs?: readonly string[] };
  readonly status?: {
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
  };
}
export interface NodeConfigLike {
  readonly spec?: {
    readonly nodeSelector?: { readonly matchLabels?: Record<string, string> };
    readonly defaults?: Record<string, string>;
  };
}

/** Which kube-system pods are which, by their labels. */
export type PodKind = "canal" | "cilium" | "multus-canal" | "multus-cilium" | "kube-proxy";

export function podKind(pod: PodLike): PodKind | undefined {
  const l = pod.metadata?.labels ?? {};
  if (l["k8s-app"] === "canal") return "canal";
  if (l["k8s-app"] === "cilium") return "cilium";
  if (l["k8s-app"] === "kube-proxy") return "kube-proxy";
  if (l.app === "multus") return l.primary === "cilium" ? "multus-cilium" : "multus-canal";
  return undefined;
}

export function podReady(pod: PodLike): boolean {
  return (
    pod.status?.phase === "Running" &&
    (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
  );
}

export function nodeReady(node: NodeLike): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** Whether a CiliumNodeConfig's selector matches a node's labels. */
function selects(config: NodeConfigLike, labels: Readonly<Record<string, string>>): boolean {
  const match = config.spec?.nodeSelector?.matchLabels ?? {};
  return Object.entries(match).every(([k, v]) => labels[k] === v);
}

/**
 * Whether kube-proxy replacement is on for a node: the `kube-proxy-replacement` key of the
 * cilium-config ConfigMap, overridden by any CiliumNodeConfig selecting the node.
 */
export function kprEnabledFor(
  labels: Readonly<Record<string, string>>,
  ciliumConfig: Readonly<Record<string, string>> | undefined,
  nodeConfigs: readonly NodeConfigLike[],
): boolean {
  let value = ciliumConfig?.["kube-proxy-replacement"];
  for (const c of nodeConfigs) {
    const v = c.spec?.defaults?.["kube-proxy-replacement"];
    if (v !== undefined && selects(c, labels)) value = v;
  }
  return value === "true";
}

export interface SnapshotInput {
  readonly nodes: readonly NodeLike[];
  /** Pods; only those of kube-system (or without a namespace) count. */
  readonly pods: readonly PodLike[];
  /** The data of kube-system/cilium-config, when Cilium is installed. */
  readonly ciliumConfig: Readonly<Record<string, string>> | undefined;
  readonly nodeConfigs: readonly NodeConfigLike[];
}

export interface NodeRuntimeWithGroup extends NodeRuntime {
  readonly instanceGroup: string;
  readonly podCIDRs: readonly string[];
  /** When the node object was created (ms since the epoch); undefined when not known. */
  readonly createdAt: number | undefined;
}

function timestamp(t: Date | string | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** One runtime record per node, in the order the nodes were listed. */
export function nodeRuntimes(input: SnapshotInput): NodeRuntimeWithGroup[] {
  const byNode = new Map<string, Set<PodKind>>();
  for (const pod of input.pods) {
    const ns = pod.metadata?.namespace;
    if (ns !== undefined && ns !== KUBE_SYSTEM) continue;
    const kind = podKind(pod);
    const node = pod.spec?.nodeName;
    if (kind === undefined || node === undefined || !podReady(pod)) continue;
    let kinds = byNode.get(node);
    if (kinds === undefined) byNode.set(node, (kinds = new Set()));
    kinds.add(kind);
  }
  return input.nodes.map((node) => {
    const name = node.metadata?.name ?? "";
    const labels = node.metadata?.labels ?? {};
    const kinds = byNode.get(name) ?? new Set<PodKind>();
    return {
      name,
      labels,
      instanceGroup: labels[INSTANCE_GROUP_LABEL] ?? "",
      podCIDRs: node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : []),
      createdAt: timestamp(node.metadata?.creationTimestamp),
      ready: nodeReady(node),
      canal: kinds.has("canal"),
      cilium: kinds.has("cilium"),
      multusCanalPrimary: kinds.has("multus-canal"),
      multusCiliumPrimary: kinds.has("multus-cilium"),
      kubeProxy: kinds.has("kube-proxy"),
      kprEnabled: kprEnabledFor(labels, input.ciliumConfig, input.nodeConfigs),
    };
  });
}
