import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  CANAL_LABEL,
  CILIUM_LABEL,
  KUBE_SYSTEM,
  MULTUS_CANAL_PRIMARY_DAEMONSET,
  MULTUS_CILIUM_PRIMARY_DAEMONSET,
  MULTUS_CONFIGMAP,
  MULTUS_SERVICE_ACCOUNT,
  NAD_CRD,
  PRIORITY_LABEL,
} from "../lib/labels";
import { childDependsOn } from "./options";

export interface MultusArgs {
  /** A pinned Multus thin-plugin image. @default "ghcr.io/k8snetworkplumbingwg/multus-cni:v4.2.2" */
  readonly image: string;
  /** Image that copies the secondary network's config onto the node. @default "docker.io/library/busybox:1.37.0" */
  readonly helperImage?: string;
}

/** The CNI spec version of every config the migration writes. */
export const CNI_VERSION = "0.3.1";
/** kops's canal conflist names its network `k8s-pod-network`; Cilium's is `cilium`. */
const CANAL_NETWORK = "k8s-pod-network";
const CILIUM_NETWORK = "cilium";

function multusConfig(clusterNetwork: string, secondary: string): string {
  return JSON.stringify(
    {
      cniVersion: CNI_VERSION,
      name: "multus-cni-network",
      plugins: [
        {
          cniVersion: CNI_VERSION,
          name: "multus-cni-network",
          type: "multus",
          kubeconfig: "/etc/cni/net.d/multus.d/multus.kubeconfig",
          confDir: "/etc/cni/net.d",
          clusterNetwork,
          defaultNetworks: [secondary],
          // Dual-home kube-system pods too, so they reach pods on both networks.
          systemNamespaces: [""],
          // Only capabilities listed here reach the delegates; without it hostPort breaks.
          capabilities: { portMappings: true },
        },
      ],
    },
    null,
    2,
  );
}

/** The four CNI configs of the method: Multus with either primary, and the two secondaries. */
export function multusConfigFiles(): Record<string, string> {
  return {
    "cni-conf-canal-primary.json": multusConfig(CANAL_NETWORK, "cilium-sbr"),
    "cni-conf-cilium-primary.json": multusConfig(CILIUM_NETWORK, "cbr0"),
    "cni-conf-flannel.json": JSON.stringify(
      {
        cniVersion: CNI_VERSION,
        name: "cbr0",
        plugins: [
          { type: "flannel", delegate: { hairpinMode: true, isDefaultGateway: true } },
          { type: "portmap", capabilities: { portMappings: true } },
          { type: "sbr" },
        ],
      },
      null,
      2,
    ),
    "cni-conf-cilium-sbr.json": JSON.stringify(
      {
        cniVersion: CNI_VERSION,
        name: "cilium-sbr",
        plugins: [
          { type: "cilium-cni", "enable-debug": true, "log-file": "/var/log/cilium-cni.log" },
          { type: "sbr" },
        ],
      },
      null,
      2,
    ),
  };
}

/** What distinguishes the two Multus DaemonSets. */
interface Flavour {
  readonly daemonSet: string;
  readonly primary: "canal" | "cilium";
  readonly nodeSelector: Record<string, string>;
  readonly multusKey: string;
  readonly secondaryKey: string;
  readonly secondaryFile: string;
}

/** Node selectors of the two DaemonSets: they differ in `cni-priority`, so never overlap. */
export const MULTUS_FLAVOURS: readonly Flavour[] = [
  {
    daemonSet: MULTUS_CANAL_PRIMARY_DAEMONSET,
    primary: "canal",
    nodeSelector: { [CANAL_LABEL]: "true", [CILIUM_LABEL]: "true", [PRIORITY_LABEL]: "canal" },
    multusKey: "cni-conf-canal-primary.json",
    secondaryKey: "cni-conf-cilium-sbr.json",
    secondaryFile: "99-cilium-sbr.conflist",
  },
  {
    daemonSet: MULTUS_CILIUM_PRIMARY_DAEMONSET,
    primary: "cilium",
    nodeSelector: { [CANAL_LABEL]: "true", [CILIUM_LABEL]: "true", [PRIORITY_LABEL]: "cilium" },
    multusKey: "cni-conf-cilium-primary.json",
    secondaryKey: "cni-conf-flannel.json",
    secondaryFile: "99-flannel.conflist",
  },
];

/**
 * Multus as a thin plugin, dual-homing pods on dual nodes: the NetworkAttachmentDefinition CRD,
 * its RBAC, a ConfigMap with the four CNI configs, and one DaemonSet per primary network, each
 * with its own selector. Multus removes its config from a node when it stops
 * (`--cleanup-config-on-exit`), so new pods there are not left without a network.
 *
 * @see https://github.com/k8snetworkplumbingwg/multus-cni/blob/master/docs/thick-plugin.md
 */
export class Multus extends pulumi.ComponentResource {
  public readonly daemonSets: k8s.apps.v1.DaemonSet[];

  constructor(name: string, args: MultusArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cni-migration:multus:Multus", name, {}, opts);
    const helperImage = args.helperImage ?? "docker.io/library/busybox:1.37.0";
    const labels = { tier: "node", app: "multus" };

    const crd = new k8s.apiextensions.v1.CustomResourceDefinition(
      `${name}-crd`,
      {
        metadata: { name: NAD_CRD },
        spec: {
          group: "k8s.cni.cncf.io",
          scope: "Namespaced",
          names: {
            plural: "network-attachment-definitions",
            singular: "network-attachment-definition",
            kind: "NetworkAttachmentDefinition",
            shortNames: ["net-attach-def"],
          },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: {
                    apiVersion: { type: "string" },
                    kind: { type: "string" },
                    metadata: { type: "object" },
                    spec: { type: "object", properties: { config: { type: "string" } } },
                  },
                },
              },
            },
          ],
        },
      },
      { parent: this, dependsOn: childDependsOn(opts) },
    );
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      { metadata: { name: MULTUS_SERVICE_ACCOUNT, namespace: KUBE_SYSTEM } },
      { parent: this, dependsOn: childDependsOn(opts) },
    );
    const role = new k8s.rbac.v1.ClusterRole(
      `${name}-role`,
      {
        metadata: { name: "multus" },
        rules: [
          { apiGroups: ["k8s.cni.cncf.io"], resources: ["*"], verbs: ["*"] },
          { apiGroups: [""], resources: ["pods", "pods/status"], verbs: ["get", "update"] },
          {
            apiGroups: ["", "events.k8s.io"],
            resources: ["events"],
            verbs: ["create", "patch", "update"],
          },
        ],
      },
      { parent: this, dependsOn: childDependsOn(opts) },
    );
    const binding = new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-role-binding`,
      {
        metadata: { name: "multus" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "multus" },
        subjects: [
          { kind: "ServiceAccount", name: MULTUS_SERVICE_ACCOUNT, namespace: KUBE_SYSTEM },
        ],
      },
      { parent: this, dependsOn: childDependsOn(opts, role, sa) },
    );
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { name: MULTUS_CONFIGMAP, namespace: KUBE_SYSTEM, labels },
        data: multusConfigFiles(),
      },
      { parent: this, dependsOn: childDependsOn(opts) },
    );

    this.daemonSets = MULTUS_FLAVOURS.map((f) => {
      const podLabels = { ...labels, name: f.daemonSet, primary: f.primary };
      return new k8s.apps.v1.DaemonSet(
        `${name}-${f.primary}-primary`,
        {
          metadata: { name: f.daemonSet, namespace: KUBE_SYSTEM, labels: podLabels },
          spec: {
            selector: { matchLabels: { app: "multus", primary: f.primary } },
            updateStrategy: { type: "RollingUpdate" },
            template: {
              metadata: { labels: podLabels },
              spec: {
                nodeSelector: f.nodeSelector,
                hostNetwork: true,
                priorityClassName: "system-node-critical",
                tolerations: [{ operator: "Exists" }],
                serviceAccountName: MULTUS_SERVICE_ACCOUNT,
                terminationGracePeriodSeconds: 10,
                initContainers: [
                  {
                    name: "install-multus-binary",
                    image: args.image,
                    command: ["/install_multus"],
                    args: ["--type", "thin"],
                    resources: { requests: { cpu: "10m", memory: "15Mi" } },
                    securityContext: { privileged: true },
                    terminationMessagePolicy: "FallbackToLogsOnError",
                    volumeMounts: [{ name: "cnibin", mountPath: "/host/opt/cni/bin" }],
                  },
                  {
                    name: "install-secondary-config",
                    image: helperImage,
                    command: [
                      "cp",
                      `/tmp/${f.secondaryFile}`,
                      `/host/etc/cni/net.d/${f.secondaryFile}`,
                    ],
                    resources: { requests: { cpu: "10m", memory: "15Mi" } },
                    securityContext: { privileged: true },
                    terminationMessagePolicy: "FallbackToLogsOnError",
                    volumeMounts: [
                      { name: "cni", mountPath: "/host/etc/cni/net.d" },
                      { name: "secondary-cfg", mountPath: "/tmp" },
                    ],
                  },
                ],
                containers: [
                  {
                    name: "kube-multus",
                    image: args.image,
                    command: ["/thin_entrypoint"],
                    args: [
                      "--multus-conf-file=/tmp/multus-conf/00-multus.conflist",
                      "--multus-autoconfig-dir=/host/etc/cni/net.d",
                      "--cni-conf-dir=/host/etc/cni/net.d",
                      "--cleanup-config-on-exit=true",
                    ],
                    resources: {
                      requests: { cpu: "100m", memory: "50Mi" },
                      limits: { cpu: "100m", memory: "50Mi" },
                    },
                    securityContext: { privileged: true },
                    terminationMessagePolicy: "FallbackToLogsOnError",
                    volumeMounts: [
                      { name: "cni", mountPath: "/host/etc/cni/net.d" },
                      { name: "cnibin", mountPath: "/host/opt/cni/bin" },
                      { name: "multus-cfg", mountPath: "/tmp/multus-conf" },
                    ],
                  },
                ],
                volumes: [
                  { name: "cni", hostPath: { path: "/etc/cni/net.d" } },
                  { name: "cnibin", hostPath: { path: "/opt/cni/bin" } },
                  {
                    name: "multus-cfg",
                    configMap: {
                      name: MULTUS_CONFIGMAP,
                      items: [{ key: f.multusKey, path: "00-multus.conflist" }],
                    },
                  },
                  {
                    name: "secondary-cfg",
                    configMap: {
                      name: MULTUS_CONFIGMAP,
                      items: [{ key: f.secondaryKey, path: f.secondaryFile }],
                    },
                  },
                ],
              },
            },
          },
        },
        { parent: this, dependsOn: childDependsOn(opts, crd, binding, config) },
      );
    });
    this.registerOutputs({});
  }
}
