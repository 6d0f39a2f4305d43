/**
 * Simulated nodes as kops and kops-controller make them: labelled from their instance group's
 * launch spec, tainted like kops taints control-plane nodes, with a kube-proxy mirror pod while
 * kube-proxy is enabled, and managed by kwok (which reports them Ready and runs their pods).
 */
import type * as k8s from "@kubernetes/client-node";
import { INSTANCE_GROUP_LABEL, KUBE_SYSTEM } from "../lib/labels";
import { Kube } from "../cli/kube";
import { LaunchSpec } from "./sim-state";

/**
 * Set on a simulated node until its static pods (kube-proxy) exist: a real node does not report
 * Ready before its kubelet has started them, so the rehearsal does not judge it before either.
 */
export const BOOTING_ANNOTATION = "sim.cni-migration/booting";

/** The annotation kwok's controller manages nodes by. */
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";

const isControlPlane = (role: string): boolean =>
  ["master", "controlplane", "apiserver"].includes(role.toLowerCase());

/** The labels kops-controller puts on a new node of a group with this launch spec. */
export function kopsNodeLabels(
  group: string,
  spec: LaunchSpec,
  name: string,
): Record<string, string> {
  const role: Record<string, string> = isControlPlane(spec.role)
    ? {
        "node-role.kubernetes.io/control-plane": "",
        "node.kubernetes.io/exclude-from-external-load-balancers": "",
        "kubernetes.io/role": "master",
      }
    : { "node-role.kubernetes.io/node": "", "kubernetes.io/role": "node" };
  return {
    "kubernetes.io/hostname": name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    [INSTANCE_GROUP_LABEL]: group,
    ...role,
    ...spec.nodeLabels,
  };
}

function taints(spec: LaunchSpec): k8s.V1Taint[] {
  const out: k8s.V1Taint[] = spec.taints.map((t) => {
    const m = /^([^=:]+)(?:=([^:]*))?:(.+)$/.exec(t);
    if (!m) throw new Error(`instance group taint ${JSON.stringify(t)} is not key[=value]:Effect`);
    return { key: m[1], value: m[2], effect: m[3] };
  });
  if (isControlPlane(spec.role)) {
    out.push({ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" });
  }
  return out;
}

/** Creates a node of `group` and, when the launch spec enables kube-proxy, its mirror pod. */
export async function createNode(
  kube: Kube,
  name: string,
  group: string,
  spec: LaunchSpec,
  podCIDR: string,
): Promise<void> {
  const node = await kube.core.createNode({
    body: {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        labels: kopsNodeLabels(group, spec, name),
        annotations: {
          [KWOK_NODE_ANNOTATION]: "fake",
          "node.alpha.kubernetes.io/ttl": "0",
          "sim.cni-migration/launch-hash": spec.hash,
          [BOOTING_ANNOTATION]: "true",
        },
      },
      spec: { podCIDR, podCIDRs: [podCIDR], taints: taints(spec) },
      status: {
        allocatable: { cpu: "32", memory: "256Gi", pods: "110" },
        capacity: { cpu: "32", memory: "256Gi", pods: "110" },
      },
    },
  });
  if (spec.kubeProxy) {
    await kube.core.createNamespacedPod({
      namespace: KUBE_SYSTEM,
      body: {
        metadata: {
          name: `kube-proxy-${name}`,
          namespace: KUBE_SYSTEM,
          labels: { "k8s-app": "kube-proxy", tier: "node" },
          annotations: {
            "kubernetes.io/config.mirror": spec.hash,
            "kubernetes.io/config.source": "file",
          },
          ownerReferences: [
            {
              apiVersion: "v1",
              kind: "Node",
              name,
              uid: node.metadata?.uid ?? "",
              controller: true,
            },
          ],
        },
        spec: {
          nodeName: name,
          hostNetwork: true,
          priorityClassName: "system-node-critical",
          tolerations: [{ operator: "Exists" }],
          containers: [{ name: "kube-proxy", image: "registry.k8s.io/kube-proxy:v1.27.16" }],
        },
      },
    });
  }
  // Booted: its static pods are up, as a kubelet would have them before reporting Ready.
  await kube.core.patchNode(
    { name, body: { metadata: { annotations: { [BOOTING_ANNOTATION]: null } } } },
    kube.k8s.setHeaderOptions("Content-Type", kube.k8s.PatchStrategy.MergePatch),
  );
}

/**
 * The pods bound to a node, from the API server's watch cache (`resourceVersion: "0"`), which
 * indexes pods by node: a quorum read would decode every pod of the cluster from etcd, for each
 * node drained, and on a 750-node cluster that alone kept the API server busy for most of a roll.
 */
function podsOn(kube: Kube, name: string): Promise<k8s.V1PodList> {
  return kube.core.listPodForAllNamespaces({
    fieldSelector: `spec.nodeName=${name}`,
    resourceVersion: "0",
  });
}

/** Evicts every pod from a node but DaemonSet and mirror pods, as `kubectl drain` does. */
export async function drainNode(kube: Kube, name: string): Promise<number> {
  await kube.core.patchNode(
    { name, body: { spec: { unschedulable: true } } },
    kube.k8s.setHeaderOptions("Content-Type", kube.k8s.PatchStrategy.MergePatch),
  );
  const pods = await podsOn(kube, name);
  let evicted = 0;
  for (const pod of pods.items) {
    const owner = pod.metadata?.ownerReferences?.[0]?.kind;
    if (
      owner === "DaemonSet" ||
      owner === "Node" ||
      pod.metadata?.annotations?.["kubernetes.io/config.mirror"]
    )
      continue;
    await kube.core.createNamespacedPodEviction({
      name: pod.metadata?.name ?? "",
      namespace: pod.metadata?.namespace ?? "",
      body: { metadata: { name: pod.metadata?.name, namespace: pod.metadata?.namespace } },
    });
    evicted++;
  }
  return evicted;
}

/** Deletes a node and its pods, as terminating the instance and node GC would. */
export async function deleteNode(kube: Kube, name: string): Promise<void> {
  await kube.core.deleteNode({ name });
  const pods = await podsOn(kube, name);
  for (const pod of pods.items) {
    try {
      await kube.core.deleteNamespacedPod({
        name: pod.metadata?.name ?? "",
        namespace: pod.metadata?.namespace ?? "",
        gracePeriodSeconds: 0,
      });
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }
}
