import * as pulumi from "@pulumi/pulumi";
import { KopsConnection } from "../lib/kops-connection";
import { KopsObject, groupRef } from "../lib/kops";
import { desiredNodeLabels, groupKind, kubeProxyDisabled } from "../lib/plan";
import { Stage } from "../lib/stage";
import { kopsEnvironment } from "./kops-environment";
import { Step } from "./step";
import { childDependsOn } from "./options";

export interface KopsSpecsArgs {
  /** The kops cluster to change. */
  readonly kops: KopsConnection;
  readonly stage: Stage;
  /** The instance groups as kops printed them; bastions are left untouched. */
  readonly instanceGroups: readonly KopsObject[];
  /** Groups that stay canal-primary until stage 3. @default [] */
  readonly ingressInstanceGroups?: readonly string[];
}

/**
 * The fields of the kops specs the migration owns: the cluster's `networking: {cni: {}}` and
 * `kubeProxy.enabled`, and the migration's node labels of each instance group. Each object is
 * written by `cni-migration kops-apply`, which re-reads it and changes only those fields, so
 * taints, cloud labels, other labels and every other setting stay as they are.
 *
 * @see https://kops.sigs.k8s.io/networking/#cni
 */
export class KopsSpecs extends pulumi.ComponentResource {
  /** The migration's node labels each instance group gets in this stage. */
  public readonly labelsByInstanceGroup: Record<string, Record<string, string>>;
  /** Every command that writes a spec; `kops update cluster` must run after all of them. */
  public readonly writes: Step[];

  constructor(name: string, args: KopsSpecsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cni-migration:kops:KopsSpecs", name, {}, opts);
    const ingress = args.ingressInstanceGroups ?? [];
    const env = kopsEnvironment(args.kops);
    const stageWord = String(args.stage);
    const ingressWords = ingress.flatMap((g) => ["--ingress", g]);

    const cluster = new Step(
      `${name}-cluster`,
      {
        args: ["kops-apply", "cluster", "--stage", stageWord],
        environment: env,
        triggers: [{ networking: "cni", kubeProxyDisabled: kubeProxyDisabled(args.stage) }],
      },
      { parent: this, dependsOn: childDependsOn(opts) },
    );
    this.writes = [cluster];
    this.labelsByInstanceGroup = {};
    for (const ig of args.instanceGroups) {
      const ref = groupRef(ig);
      const kind = groupKind(ref, ingress);
      if (kind === "bastion") continue;
      const labels = desiredNodeLabels(args.stage, kind === "ingress");
      this.labelsByInstanceGroup[ref.name] = labels;
      this.writes.push(
        new Step(
          `${name}-ig-${ref.name}`,
          {
            args: ["kops-apply", "instancegroup", ref.name, "--stage", stageWord, ...ingressWords],
            environment: env,
            triggers: [labels],
          },
          { parent: this, dependsOn: childDependsOn(opts) },
        ),
      );
    }
    this.registerOutputs({ labelsByInstanceGroup: this.labelsByInstanceGroup });
  }
}
