import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  CALICO_KUBE_CONTROLLERS,
  CANAL_DAEMONSET,
  CANAL_FLANNEL_CONTAINER,
  CANAL_LABEL,
  KUBE_SYSTEM,
} from "../lib/labels";
import { Step } from "./step";
import { childDependsOn } from "./options";

export interface CanalPatchArgs {
  /**
   * Label every existing node canal in place before the patch pins canal to labelled nodes
   * (stage 0). Nodes created later get the label from their instance group.
   */
  readonly labelExistingNodes: boolean;
}

/**
 * The patch of kops's canal DaemonSet: canal runs only on nodes labelled canal, and flannel's
 * runtime data (`/run/flannel`) is shared with the host for Multus. Applied server-side with its
 * own field manager and forced, so kops's addon manager keeps the fields it owns and these
 * survive its re-applies. Retained on delete: removing the patch from the program would remove
 * the node selector, not restore anything.
 *
 * @see https://www.pulumi.com/registry/packages/kubernetes/how-to-guides/managing-resources-with-server-side-apply/
 */
export class CanalPatch extends pulumi.ComponentResource {
  public readonly patch: k8s.apps.v1.DaemonSetPatch;

  constructor(name: string, args: CanalPatchArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cni-migration:canal:CanalPatch", name, {}, opts);
    const after: pulumi.Resource[] = [];
    if (args.labelExistingNodes) {
      after.push(
        new Step(
          `${name}-label-nodes`,
          { args: ["label-nodes", "--label", `${CANAL_LABEL}=true`] },
          { parent: this, dependsOn: childDependsOn(opts) },
        ),
      );
    }
    this.patch = new k8s.apps.v1.DaemonSetPatch(
      `${name}-patch`,
      {
        metadata: {
          name: CANAL_DAEMONSET,
          namespace: KUBE_SYSTEM,
          annotations: { "pulumi.com/patchForce": "true" },
        },
        spec: {
          template: {
            spec: {
              nodeSelector: { [CANAL_LABEL]: "true" },
              volumes: [
                {
                  name: "run-flannel",
                  hostPath: { path: "/run/flannel", type: "DirectoryOrCreate" },
                },
              ],
              containers: [
                {
                  name: CANAL_FLANNEL_CONTAINER,
                  volumeMounts: [{ name: "run-flannel", mountPath: "/run/flannel" }],
                },
              ],
            },
          },
        },
      },
      { parent: this, dependsOn: childDependsOn(opts, ...after), retainOnDelete: true },
    );
    this.registerOutputs({});
  }
}

/**
 * Deletes canal and calico-kube-controllers in stage 4, which kops leaves running after
 * `networking: {cni: {}}`. The CLI refuses while any node still carries the canal label.
 */
export class CanalRemoval extends pulumi.ComponentResource {
  public readonly removal: Step;

  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("cni-migration:canal:CanalRemoval", name, {}, opts);
    this.removal = new Step(
      `${name}-delete`,
      {
        args: [
          "remove-canal",
          "--daemonset",
          CANAL_DAEMONSET,
          "--deployment",
          CALICO_KUBE_CONTROLLERS,
        ],
      },
      { parent: this, dependsOn: childDependsOn(opts) },
    );
    this.registerOutputs({});
  }
}
