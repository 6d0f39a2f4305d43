/**
 * What the program reads from the live cluster: nodes (labels, podCIDRs) and the record of which
 * stage and stack hold the cluster. Reads are paginated LIST calls, never one call per node.
 */
import { KUBE_SYSTEM, STAGE_RECORD_CONFIGMAP } from "./labels";
import { Stage, isStage } from "./stage";

export interface NodeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly podCIDRs: readonly string[];
}

/** Which stage the cluster is in and which stack holds its resources. */
export interface StageRecord {
  readonly stage: Stage;
  readonly stack: string;
}

export interface ClusterReader {
  /** Every node of the cluster. */
  listNodes(): Promise<NodeInfo[]>;
  /** The stage record, or undefined when the migration never ran on this cluster. */
  readStageRecord(): Promise<StageRecord | undefined>;
}

/** Reads a stage record from the ConfigMap's data; refuses a record it cannot understand. */
export function parseStageRecord(
  data: Record<string, string> | undefined,
): StageRecord | undefined {
  if (data === undefined || data.stage === undefined) return undefined;
  const stage = Number(data.stage);
  if (!isStage(stage) || !data.stack) {
    throw new Error(
      `the ConfigMap ${KUBE_SYSTEM}/${STAGE_RECORD_CONFIGMAP} holds stage ${JSON.stringify(data.stage)} ` +
        `and stack ${JSON.stringify(data.stack)}, which is not a valid record. Restore it to the ` +
        `stage and stack that last applied (see \`pulumi stack history\`) before going on.`,
    );
  }
  return { stage, stack: data.stack };
}

/** A reader using the user's kubeconfig and current context (KUBECONFIG is honoured). */
export async function kubeClusterReader(context?: string): Promise<ClusterReader> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  if (context !== undefined) kc.setCurrentContext(context);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return {
    async listNodes(): Promise<NodeInfo[]> {
      const nodes: NodeInfo[] = [];
      let token: string | undefined;
      do {
        const page = await core.listNode({ limit: 500, _continue: token });
        for (const n of page.items) {
          nodes.push({
            name: n.metadata?.name ?? "",
            labels: n.metadata?.labels ?? {},
            podCIDRs: n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []),
          });
        }
        token = page.metadata?._continue || undefined;
      } while (token !== undefined);
      return nodes;
    },
    async readStageRecord(): Promise<StageRecord | undefined> {
      try {
        const cm = await core.readNamespacedConfigMap({
          name: STAGE_RECORD_CONFIGMAP,
          namespace: KUBE_SYSTEM,
        });
        return parseStageRecord(cm.data);
      } catch (e) {
        if ((e as { code?: number }).code === 404) return undefined;
        throw e;
      }
    },
  };
}
