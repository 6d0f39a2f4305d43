/**
 * The migration status of a cluster, from one read of it: nodes by migration state per instance
 * group, the migration's DaemonSets, pods by primary network, the stage record, and what blocks
 * the next promotion. Pure; `cni-migration status` prints it, `--json` prints it as it is
 * (schemas/status.schema.json), and the promotion gates read the same object.
 */
import { parseStageRecord, StageRecord } from "./cluster";
import { describeNodesOffTarget, nodesNotInTargetState, NodeOffTarget, targetState } from "./gates";
import {
  CANAL_DAEMONSET,
  CILIUM_AGENT_DAEMONSET,
  KUBE_SYSTEM,
  MULTUS_CANAL_PRIMARY_DAEMONSET,
  MULTUS_CILIUM_PRIMARY_DAEMONSET,
} from "./labels";
import { NODE_STATES, Network, NodeState, assessNode, intendedNetwork } from "./node-state";
import { AddressClassifier, PodNetwork, coveringCidr, podNetwork } from "./pod-network";
import { rollProgress } from "./roll-progress";
import { NodeConfigLike, NodeLike, PodLike, nodeRuntimes } from "./snapshot";
import { Stage, describeStage, stageName } from "./stage";

export const STATUS_SCHEMA_VERSION = 1;

/** The DaemonSets the migration watches, in the order they are shown. */
export const MIGRATION_DAEMONSETS: readonly string[] = [
  CANAL_DAEMONSET,
  CILIUM_AGENT_DAEMONSET,
  MULTUS_CANAL_PRIMARY_DAEMONSET,
  MULTUS_CILIUM_PRIMARY_DAEMONSET,
];

/** Exit codes of `status` and `preflight`. */
export const EXIT_CODES = { ok: 0, fail: 1, warn: 2, unreadable: 3 } as const;
export type Verdict = "ok" | "warn" | "fail";

export interface DaemonSetLike {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly status?: {
    readonly desiredNumberScheduled?: number;
    readonly numberReady?: number;
    readonly updatedNumberScheduled?: number;
    readonly numberAvailable?: number;
  };
}

/** Everything one read of the cluster returns, in the shape the Kubernetes API returns it. */
export interface ClusterRead {
  readonly nodes: readonly NodeLike[];
  /** Pods of every namespace. */
  readonly pods: readonly PodLike[];
  /** The data of kube-system/cilium-config; undefined when Cilium is not installed. */
  readonly ciliumConfig: Readonly<Record<string, string>> | undefined;
  /** CiliumNodeConfigs; empty when the CRD does not exist. */
  readonly nodeConfigs: readonly NodeConfigLike[];
  /** The DaemonSets of kube-system. */
  readonly daemonSets: readonly DaemonSetLike[];
  /** The data of kube-system/cni-migration-stage; undefined when it does not exist. */
  readonly stageRecord: Readonly<Record<string, string>> | undefined;
}

export interface StatusOptions {
  readonly readAt: Date;
  /** The kubeconfig context read; null when not known. */
  readonly context: string | null;
  /** Groups that stay canal-primary in stage 2. */
  readonly ingressGroups: readonly string[];
}

export type StateCounts = Record<NodeState, number>;

export interface GroupStatus {
  readonly name: string;
  readonly nodes: number;
  readonly byState: StateCounts;
  /** The state the stage requires of this group's nodes. */
  readonly target: NodeState;
  readonly done: number;
  readonly left: number;
  /** Nodes of more than one state: a roll is under way (or stuck). */
  readonly rolling: boolean;
  readonly etaSeconds: number | null;
}

export interface DaemonSetStatus {
  readonly name: string;
  readonly present: boolean;
  readonly desired: number;
  readonly ready: number;
  readonly upToDate: number;
  readonly available: number;
}

export interface WrongNetworkPod {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly network: Network;
  readonly intended: Network;
}

export interface StatusReport {
  readonly schemaVersion: typeof STATUS_SCHEMA_VERSION;
  readonly readAt: string;
  readonly context: string | null;
  readonly verdict: Verdict;
  readonly exitCode: 0 | 1 | 2;
  readonly stage: { readonly number: Stage; readonly name: string; readonly stack: string } | null;
  readonly nextPromotion: { readonly to: Stage; readonly command: string } | null;
  /** Broken invariants: broken nodes, pods on the wrong network, an unreadable record. */
  readonly problems: string[];
  /** What keeps the stage from being settled, and so blocks the next promotion. */
  readonly blockers: string[];
  readonly instanceGroups: GroupStatus[];
  readonly nodes: {
    readonly total: number;
    readonly ready: number;
    readonly byState: StateCounts;
    readonly broken: { name: string; instanceGroup: string; problems: string[] }[];
    readonly notInTarget: NodeOffTarget[];
  };
  readonly daemonSets: DaemonSetStatus[];
  readonly networks: { name: Network; cidrs: string[]; pods: number }[];
  readonly pods: {
    readonly total: number;
    readonly byNetwork: Record<PodNetwork, number>;
    readonly wrongNetwork: WrongNetworkPod[];
  };
}

const zeroCounts = (): StateCounts =>
  Object.fromEntries(NODE_STATES.map((s) => [s, 0])) as StateCounts;

const plural = (n: number, one: string, many: string): string => (n === 1 ? one : many);

function readRecord(data: Record<string, string> | undefined): {
  record: StageRecord | undefined;
  problem?: string;
} {
  try {
    return { record: parseStageRecord(data === undefined ? undefined : { ...data }) };
  } catch (e) {
    return { record: undefined, problem: (e as Error).message };
  }
}

function daemonSetStatus(read: ClusterRead): DaemonSetStatus[] {
  return MIGRATION_DAEMONSETS.map((name) => {
    const ds = read.daemonSets.find(
      (d) => d.metadata?.name === name && (d.metadata.namespace ?? KUBE_SYSTEM) === KUBE_SYSTEM,
    );
    const s = ds?.status ?? {};
    return {
      name,
      present: ds !== undefined,
      desired: s.desiredNumberScheduled ?? 0,
      ready: s.numberReady ?? 0,
      upToDate: s.updatedNumberScheduled ?? 0,
      available: s.numberAvailable ?? 0,
    };
  });
}

const MAX_NAMED = 5;
function named(items: readonly string[]): string {
  const more = items.length > MAX_NAMED ? ` and ${items.length - MAX_NAMED} more` : "";
  return items.slice(0, MAX_NAMED).join(", ") + more;
}

/** Builds the status of a cluster from one read of it. */
export function buildStatus(read: ClusterRead, opts: StatusOptions): StatusReport {
  const problems: string[] = [];
  const blockers: string[] = [];
  const { record, problem } = readRecord(read.stageRecord as Record<string, string> | undefined);
  if (problem !== undefined) problems.push(problem);
  const stage = record?.stage;

  const runtimes = nodeRuntimes(read);
  const assessed = runtimes.map((r) => ({ runtime: r, assessment: assessNode(r) }));
  const gated = assessed.map((a) => ({
    name: a.runtime.name,
    instanceGroup: a.runtime.instanceGroup,
    state: a.assessment.state,
  }));
  const notInTarget = nodesNotInTargetState(stage, gated, opts.ingressGroups);

  // Nodes per instance group, in the order groups first appear.
  const groups = new Map<string, typeof assessed>();
  for (const a of assessed) {
    const list = groups.get(a.runtime.instanceGroup) ?? [];
    list.push(a);
    groups.set(a.runtime.instanceGroup, list);
  }
  const instanceGroups: GroupStatus[] = [...groups].map(([name, members]) => {
    const byState = zeroCounts();
    for (const m of members) byState[m.assessment.state]++;
    const target = targetState(stage, opts.ingressGroups.includes(name));
    const progress = rollProgress(
      members.map((m) => ({ done: m.assessment.state === target, createdAt: m.runtime.createdAt })),
    );
    return {
      name,
      nodes: members.length,
      byState,
      target,
      done: progress.done,
      left: progress.left,
      rolling: Object.values(byState).filter((n) => n > 0).length > 1,
      etaSeconds: progress.etaSeconds ?? null,
    };
  });

  const byState = zeroCounts();
  for (const a of assessed) byState[a.assessment.state]++;
  const broken = assessed
    .filter((a) => a.assessment.state === "broken")
    .map((a) => ({
      name: a.runtime.name,
      instanceGroup: a.runtime.instanceGroup,
      problems: [...a.assessment.problems],
    }));
  if (broken.length > 0) {
    problems.push(
      `${broken.length} ${plural(broken.length, "node is", "nodes are")} broken: ` +
        `${named(broken.map((b) => b.name))}. Fix what each lacks (see the broken nodes) or ` +
        `replace ${plural(broken.length, "it", "them")} with \`kops delete instance NAME --yes\`.`,
    );
  }

  // Pods by primary network, and those on a network their node does not intend.
  const canalCidrs = runtimes.flatMap((r) => r.podCIDRs).filter((c) => !c.includes(":"));
  const ciliumCidrs = (read.ciliumConfig?.["cluster-pool-ipv4-cidr"] ?? "")
    .split(/[\s,]+/)
    .filter((c) => c !== "");
  const classifier = new AddressClassifier({ canal: canalCidrs, cilium: ciliumCidrs });
  const intended = new Map<string, Network | undefined>();
  for (const a of assessed) {
    const only = a.assessment.primaries.length === 1 ? a.assessment.primaries[0] : undefined;
    intended.set(a.runtime.name, intendedNetwork(a.runtime.labels) ?? only);
  }
  const byNetwork: Record<PodNetwork, number> = {
    canal: 0,
    cilium: 0,
    host: 0,
    none: 0,
    unknown: 0,
  };
  const wrongNetwork: WrongNetworkPod[] = [];
  for (const pod of read.pods) {
    const phase = pod.status?.phase;
    const network =
      phase === "Succeeded" || phase === "Failed" ? "none" : podNetwork(pod, classifier);
    byNetwork[network]++;
    if (network !== "canal" && network !== "cilium") continue;
    const node = pod.spec?.nodeName ?? "";
    const want = intended.get(node);
    if (want !== undefined && want !== network) {
      wrongNetwork.push({
        namespace: pod.metadata?.namespace ?? "",
        name: pod.metadata?.name ?? "",
        node,
        network,
        intended: want,
      });
    }
  }
  if (wrongNetwork.length > 0) {
    problems.push(
      `${wrongNetwork.length} ${plural(wrongNetwork.length, "pod has", "pods have")} a primary ` +
        `network ${plural(wrongNetwork.length, "its", "their")} node does not intend: ` +
        `${named(wrongNetwork.map((p) => `${p.namespace}/${p.name} on ${p.node} (${p.network}, node intends ${p.intended})`))}. ` +
        `Delete ${plural(wrongNetwork.length, "it", "them")} so ${plural(wrongNetwork.length, "it is", "they are")} ` +
        `recreated through Multus.`,
    );
  }
  const canalCover = coveringCidr(canalCidrs);

  blockers.push(...describeNodesOffTarget(stage, notInTarget));
  const daemonSets = daemonSetStatus(read);
  for (const ds of daemonSets) {
    if (ds.present && ds.ready < ds.desired) {
      blockers.push(
        `DaemonSet ${KUBE_SYSTEM}/${ds.name} has ${ds.ready} of ${ds.desired} pods ready; wait ` +
          `for it or look at its pods (\`kubectl -n ${KUBE_SYSTEM} get pods -o wide\`).`,
      );
    }
  }

  const verdict: Verdict = problems.length > 0 ? "fail" : blockers.length > 0 ? "warn" : "ok";
  const next = stage === undefined ? Stage.Prepare : stage < Stage.Complete ? stage + 1 : undefined;
  return {
    schemaVersion: STATUS_SCHEMA_VERSION,
    readAt: opts.readAt.toISOString(),
    context: opts.context,
    verdict,
    exitCode: EXIT_CODES[verdict],
    stage:
      record === undefined
        ? null
        : { number: record.stage, name: stageName(record.stage), stack: record.stack },
    nextPromotion:
      next === undefined
        ? null
        : {
            to: next,
            command:
              next === Stage.Prepare ? "pulumi up -s stage0" : `cni-migration promote --to ${next}`,
          },
    problems,
    blockers,
    instanceGroups,
    nodes: {
      total: assessed.length,
      ready: runtimes.filter((r) => r.ready).length,
      byState,
      broken,
      notInTarget,
    },
    daemonSets,
    networks: [
      { name: "canal", cidrs: canalCover === undefined ? [] : [canalCover], pods: byNetwork.canal },
      { name: "cilium", cidrs: ciliumCidrs, pods: byNetwork.cilium },
    ],
    pods: { total: read.pods.length, byNetwork, wrongNetwork },
  };
}

/** `stage 2 (dual, cilium primary), held by stack stage2`, or that no stage was applied. */
export function describeHolder(report: StatusReport): string {
  return report.stage === null
    ? "no stage applied yet (no kube-system/cni-migration-stage record)"
    : `${describeStage(report.stage.number)}, held by stack ${report.stage.stack}`;
}
