/**
 * The cni-migration Pulumi program: one stack per stage (`pulumi up -s stage2`). It reads its
 * config, checks it, reads the kops specs and the cluster, runs preflight, and declares the
 * stage. Nothing is registered when any check fails.
 */
import * as pulumi from "@pulumi/pulumi";
import { kubeClusterReader } from "./lib/cluster";
import { CONFIG_NAMESPACE, parseConfig } from "./lib/config";
import { KopsCli } from "./lib/kops";
import { MigrationOutputs, defineMigration } from "./lib/program";

function rawConfig(): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(pulumi.runtime.allConfig())) {
    if (k.startsWith(`${CONFIG_NAMESPACE}:`)) raw[k.slice(CONFIG_NAMESPACE.length + 1)] = v;
  }
  return raw;
}

async function main(): Promise<MigrationOutputs> {
  const stackName = pulumi.getStack();
  const config = parseConfig(rawConfig(), stackName);
  return defineMigration(config, {
    kops: new KopsCli(config.kopsBinary, config.clusterName, config.stateStore),
    cluster: () => kubeClusterReader(),
    stackName,
    dryRun: pulumi.runtime.isDryRun(),
  });
}

export = main();
