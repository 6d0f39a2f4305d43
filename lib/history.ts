/**
 * The cluster's record of promotions: one entry a promotion in kube-system/cni-migration-history
 * (stage, stack, time, who, Pulumi update), written by `promote` after the stage has settled.
 * Kept apart from the stage record, which the program owns and rewrites on every `up`.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { Lister } from "./cluster-read";
import { KUBE_SYSTEM } from "./labels";
import { HISTORY_CONFIGMAP, PromotionEntry, historyEntries, nextHistoryKey } from "./promote";

/** The promotions recorded in the cluster, oldest first; none when the ConfigMap is absent. */
export async function readHistory(lister: Lister): Promise<PromotionEntry[]> {
  const items = (await lister.list(`/api/v1/namespaces/${KUBE_SYSTEM}/configmaps`, {
    fieldSelector: `metadata.name=${HISTORY_CONFIGMAP}`,
  })) as { data?: Record<string, string> }[];
  return historyEntries(items[0]?.data ?? {});
}

/** Loads a kubeconfig file, or the default one (KUBECONFIG, ~/.kube/config). */
export async function loadKubeConfig(kubeconfig: string | undefined): Promise<KubeConfig> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

/** Appends one entry to the history, creating the ConfigMap on the first promotion. */
export async function recordPromotion(
  kubeconfig: string | undefined,
  entry: PromotionEntry,
): Promise<string> {
  const k8s = await import("@kubernetes/client-node");
  const core = (await loadKubeConfig(kubeconfig)).makeApiClient(k8s.CoreV1Api);
  let data: Record<string, string> | undefined;
  try {
    data = (await core.readNamespacedConfigMap({ name: HISTORY_CONFIGMAP, namespace: KUBE_SYSTEM }))
      .data;
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
    const key = nextHistoryKey({});
    await core.createNamespacedConfigMap({
      namespace: KUBE_SYSTEM,
      body: {
        metadata: {
          name: HISTORY_CONFIGMAP,
          namespace: KUBE_SYSTEM,
          labels: { "app.kubernetes.io/managed-by": "cni-migration" },
        },
        data: { [key]: JSON.stringify(entry) },
      },
    });
    return key;
  }
  const key = nextHistoryKey(data ?? {});
  await core.patchNamespacedConfigMap(
    {
      name: HISTORY_CONFIGMAP,
      namespace: KUBE_SYSTEM,
      body: { data: { [key]: JSON.stringify(entry) } },
    },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
  );
  return key;
}
