import * as pulumi from "@pulumi/pulumi";
import { RolloutConfig } from "../lib/config";
import { KopsConnection } from "../lib/kops-connection";
import { RollStep } from "../lib/plan";
import { Stage } from "../lib/stage";
import { kopsEnvironment } from "./kops-environment";
import { Step } from "./step";
import { childDependsOn } from "./options";

export interface KopsRolloutArgs {
  readonly kops: KopsConnection;
  readonly stage: Stage;
  /** The groups to roll, in order; empty in stages that roll nothing. */
  readonly steps: readonly RollStep[];
  /** Validation flags and the timeout of each group's roll. */
  readonly rollout: RolloutConfig;
  /**
   * What the rolls depend on: when any of it changes, `kops update` and every roll run again;
   * otherwise a repeated `pulumi up` runs nothing.
   */
  readonly inputs: pulumi.Input<unknown>;
}

/**
 * `kops update cluster --yes`, then one `kops rolling-update cluster --instance-group G --yes` per
 * group, in the stage's order, each waiting for the one before it. Output streams to the Pulumi
 * log; each roll stops after `rollout.timeout` and fails, so a stuck roll never hangs an `up`.
 * A failed roll is not recorded, so the next `up` resumes with that group.
 *
 * @see https://kops.sigs.k8s.io/operations/rolling-update/
 */
export class KopsRollout extends pulumi.ComponentResource {
  public readonly update: Step;
  /** The roll commands in the order they run. */
  public readonly rolls: Step[];

  constructor(name: string, args: KopsRolloutArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cni-migration:kops:KopsRollout", name, {}, opts);
    const env = kopsEnvironment(args.kops);
    this.update = new Step(
      `${name}-update`,
      {
        args: ["kops-run", "--timeout", "30m", "--", "update", "cluster", "--yes"],
        environment: env,
        triggers: [args.stage, args.inputs],
      },
      { parent: this, dependsOn: childDependsOn(opts) },
    );
    this.rolls = [];
    let previous: pulumi.Resource = this.update;
    for (const step of args.steps) {
      const roll: Step = new Step(
        `${name}-roll-${step.instanceGroup}`,
        {
          args: [
            "kops-run",
            "--timeout",
            args.rollout.timeout,
            "--",
            "rolling-update",
            "cluster",
            "--instance-group",
            step.instanceGroup,
            "--validation-timeout",
            args.rollout.validationTimeout,
            "--validate-count",
            String(args.rollout.validateCount),
            "--yes",
          ],
          environment: env,
          triggers: [args.stage, args.inputs],
        },
        { parent: this, dependsOn: [previous] },
      );
      this.rolls.push(roll);
      previous = roll;
    }
    this.registerOutputs({ rollOrder: args.steps.map((s) => s.instanceGroup) });
  }
}
