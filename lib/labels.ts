/**
 * Names of the labels, objects and annotations the migration reads and writes. Once a stage has
 * been applied to a cluster these are frozen: renaming one would orphan objects in the cluster.
 */

/** Prefix of every node label the migration owns. */
export const NODE_ROLE_PREFIX = "node-role.kubernetes.io/";
/** Canal's DaemonSet runs only on nodes with this label set to `true`. */
export const CANAL_LABEL = `${NODE_ROLE_PREFIX}canal`;
/** Cilium's agent runs only on nodes with this label set to `true` (stages 0 to 3). */
export const CILIUM_LABEL = `${NODE_ROLE_PREFIX}cilium`;
/** Which Multus DaemonSet, and so which primary network, a dual node gets: `canal` or `cilium`. */
export const PRIORITY_LABEL = `${NODE_ROLE_PREFIX}cni-priority`;
/** The labels the migration owns on instance groups; every other label is left as it is. */
export const OWNED_NODE_LABELS: readonly string[] = [CANAL_LABEL, CILIUM_LABEL, PRIORITY_LABEL];

/** The label kops-controller puts on every node with the name of its instance group. */
export const INSTANCE_GROUP_LABEL = "kops.k8s.io/instancegroup";
/** Cluster-autoscaler reads node labels of empty groups from cloud labels with this prefix. */
export const AUTOSCALER_LABEL_TAG_PREFIX = "k8s.io/cluster-autoscaler/node-template/label/";

export const KUBE_SYSTEM = "kube-system";
export const CANAL_DAEMONSET = "canal";
export const CANAL_FLANNEL_CONTAINER = "kube-flannel";
export const CALICO_KUBE_CONTROLLERS = "calico-kube-controllers";
export const CILIUM_RELEASE = "cilium";
export const CILIUM_AGENT_DAEMONSET = "cilium";
export const MULTUS_CANAL_PRIMARY_DAEMONSET = "kube-multus";
export const MULTUS_CILIUM_PRIMARY_DAEMONSET = "kube-multus-cilium";
export const MULTUS_CONFIGMAP = "multus-cni-config";
export const MULTUS_SERVICE_ACCOUNT = "multus";
export const NAD_CRD = "network-attachment-definitions.k8s.cni.cncf.io";
export const TEMPORARY_POLICY = "cni-migration.allow-temporary-access-for-canal";
export const KPR_NODE_CONFIG = "cni-migration-kube-proxy";
/** The ConfigMap in which the cluster records the stage applied and the stack holding it. */
export const STAGE_RECORD_CONFIGMAP = "cni-migration-stage";
/** The CRDs cilium-operator registers that the migration's own objects need. */
export const CILIUM_CRDS: readonly string[] = [
  "ciliumclusterwidenetworkpolicies.cilium.io",
  "ciliumnodeconfigs.cilium.io",
];
