import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  CANAL_LABEL,
  CILIUM_CRDS,
  CILIUM_LABEL,
  KPR_NODE_CONFIG,
  KUBE_SYSTEM,
  TEMPORARY_POLICY,
} from "../lib/labels";
import { Step } from "./step";
import { childDependsOn } from "./options";

export interface MigrationPoliciesArgs {
  /** Declare the clusterwide allow policy that lets canal and Cilium pods talk while policies are kept. */
  readonly temporaryPolicy: boolean;
  /** Declare the CiliumNodeConfig that keeps kube-proxy replacement off on dual nodes (stage 3). */
  readonly kprNodeConfig: boolean;
  /** How long to wait for cilium-operator to register its CRDs. @default "10m" */
  readonly crdTimeout?: string;
}

/** The KPR-off settings for dual nodes: they still run kube-proxy, which owns port 10256. */
export const DUAL_NODE_DEFAULTS = {
  "kube-proxy-replacement": "false",
  "kube-proxy-replacement-healthz-server-bind-address": "",
};

/**
 * The migration's temporary Cilium objects. The chart ships no CRDs: cilium-operator registers
 * them when it starts, so both objects wait until the CRDs are established.
 *
 * @see https://docs.cilium.io/en/stable/configuration/per-node-config/
 */
export class MigrationPolicies extends pulumi.ComponentResource {
  /** Every object declared, for others to wait on. */
  public readonly objects: pulumi.Resource[];

  constructor(name: string, args: MigrationPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cni-migration:cilium:MigrationPolicies", name, {}, opts);
    this.objects = [];
    const crds = new Step(
      `${name}-wait-crds`,
      {
        args: [
          "wait-crds",
          "--timeout",
          args.crdTimeout ?? "10m",
          ...CILIUM_CRDS.flatMap((c) => ["--crd", c]),
        ],
      },
      { parent: this, dependsOn: childDependsOn(opts) },
    );
    if (args.temporaryPolicy) {
      this.objects.push(
        new k8s.apiextensions.CustomResource(
          `${name}-allow-all`,
          {
            apiVersion: "cilium.io/v2",
            kind: "CiliumClusterwideNetworkPolicy",
            metadata: { name: TEMPORARY_POLICY },
            spec: {
              endpointSelector: {},
              ingress: [{ fromEntities: ["world", "remote-node"] }, { fromEndpoints: [{}] }],
            },
          },
          { parent: this, dependsOn: [crds] },
        ),
      );
    }
    if (args.kprNodeConfig) {
      this.objects.push(
        new k8s.apiextensions.CustomResource(
          `${name}-kpr-off-on-dual-nodes`,
          {
            apiVersion: "cilium.io/v2",
            kind: "CiliumNodeConfig",
            metadata: { name: KPR_NODE_CONFIG, namespace: KUBE_SYSTEM },
            spec: {
              nodeSelector: { matchLabels: { [CANAL_LABEL]: "true", [CILIUM_LABEL]: "true" } },
              defaults: DUAL_NODE_DEFAULTS,
            },
          },
          { parent: this, dependsOn: [crds] },
        ),
      );
    }
    this.registerOutputs({});
  }
}
