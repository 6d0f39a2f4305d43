import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KUBE_SYSTEM, STAGE_RECORD_CONFIGMAP } from "../lib/labels";
import { Stage, stageName } from "../lib/stage";
import { childDependsOn } from "./options";

export interface StageRecordArgs {
  readonly stage: Stage;
  /** The stack that holds the cluster's resources. */
  readonly stack: string;
}

/**
 * The cluster's own record of the stage applied and the stack holding it, written last so that
 * it moves only once everything else of the stage is in place. Every run reads it first and
 * refuses a stage out of order or a stack that does not hold the cluster.
 */
export class StageRecord extends pulumi.ComponentResource {
  public readonly configMap: k8s.core.v1.ConfigMap;

  constructor(name: string, args: StageRecordArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cni-migration:stage:StageRecord", name, {}, opts);
    this.configMap = new k8s.core.v1.ConfigMap(
      `${name}-configmap`,
      {
        metadata: { name: STAGE_RECORD_CONFIGMAP, namespace: KUBE_SYSTEM },
        data: { stage: String(args.stage), stageName: stageName(args.stage), stack: args.stack },
      },
      { parent: this, dependsOn: childDependsOn(opts) },
    );
    this.registerOutputs({});
  }
}
