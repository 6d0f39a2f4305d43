/**
 * The program's entry: reads the stack's config, checks it, and declares the stage. `index.ts`
 * runs it for `pulumi up`; the rehearsal and the CLI run it as an Automation API program.
 */
import * as pulumi from "@pulumi/pulumi";
import { kubeClusterReader } from "./cluster";
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

export async function main(): Promise<MigrationOutputs> {
  const stackName = pulumi.getStack();
  const config = parseConfig(rawConfig(), stackName);
  return defineMigration(config, {
    kops: new KopsCli(config.kopsBinary, config.clusterName, config.stateStore),
    cluster: () => kubeClusterReader(),
    stackName,
    dryRun: pulumi.runtime.isDryRun(),
  });
}
