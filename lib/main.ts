/**
 * The program's entry: reads the stack's config, checks it, and declares the stage. `index.ts`
 * runs it for `pulumi up`; the rehearsal and the CLI run it as an Automation API program.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterReader, kubeClusterReader } from "./cluster";
import { CONFIG_NAMESPACE, parseConfig } from "./config";
import { KopsCli } from "./kops";
import { MigrationOutputs, defineMigration } from "./program";

function rawConfig(): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(pulumi.runtime.allConfig())) {
    if (k.startsWith(`${CONFIG_NAMESPACE}:`)) raw[k.slice(CONFIG_NAMESPACE.length + 1)] = v;
  }
  return raw;
}

export interface MainOptions {
  /**
   * Read the stage record as `promote` leaves it once it has moved the cluster to this stack:
   * the recorded stage stays, the holder is this stack. For `promote --preview`, which shows
   * the diff of the transition on a copy of the state without touching the cluster's record.
   */
  readonly assumeHolder?: boolean;
}

export async function main(opts: MainOptions = {}): Promise<MigrationOutputs> {
  const stackName = pulumi.getStack();
  const config = parseConfig(rawConfig(), stackName);
  const reader = async (): Promise<ClusterReader> => {
    const r = await kubeClusterReader();
    if (!opts.assumeHolder) return r;
    return {
      listNodes: () => r.listNodes(),
      readStageRecord: async () => {
        const record = await r.readStageRecord();
        return record && { ...record, stack: stackName };
      },
    };
  };
  return defineMigration(config, {
    kops: new KopsCli(config.kopsBinary, config.clusterName, config.stateStore),
    cluster: reader,
    stackName,
    dryRun: pulumi.runtime.isDryRun(),
  });
}
