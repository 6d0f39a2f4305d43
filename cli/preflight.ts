/**
 * `cni-migration preflight`: every check of the program's preflight, plus the AWS checks, as a
 * table of pass / warn / fail / skipped with the fix for each problem. It reads the kops specs
 * and the cluster as `pulumi up` would, and changes nothing. Exit codes: 0 every check passed
 * (or was skipped), 1 a check failed, 2 warnings only, 3 the cluster could not be read.
 */
import { StageRecord } from "../lib/cluster";
import { Lister, kubeLister, readNodesAndRecord } from "../lib/cluster-read";
import { ConfigError, parseConfig } from "../lib/config";
import { KopsCli, clusterFacts } from "../lib/kops";
import {
  AwsClients,
  awsClients,
  awsCredentialSource,
  regionOf,
  runAwsChecks,
  skippedAwsChecks,
} from "../lib/aws-checks";
import { CheckResult, runPreflightChecks } from "../lib/preflight";
import { KopsReader, chartFor } from "../lib/program";
import { readStackConfig, stackConfigPath } from "../lib/stack-config";
import { Stage, describeStage, isStage } from "../lib/stage";
import { EXIT_CODES } from "../lib/status";
import { ciliumValues } from "../lib/values";
import { renderChecks } from "./preflight-render";

export type AwsMode = "auto" | "on" | "off";

export interface PreflightOptions {
  /** The stage to check; by default the one after the stage the cluster records. */
  readonly stage?: Stage;
  /** The stack that applies the stage; `stage<N>` by default. */
  readonly stack?: string;
  /** Where `Pulumi.<stack>.yaml` is. */
  readonly projectDir: string;
  readonly kops?: string;
  readonly name?: string;
  readonly state?: string;
  readonly context?: string;
  readonly region?: string;
  readonly aws: AwsMode;
}

export interface PreflightDeps {
  readonly write: (text: string) => void;
  readonly writeError: (text: string) => void;
  readonly lister: () => Promise<Lister>;
  readonly kops: (binary: string, clusterName: string, stateStore: string) => KopsReader;
  readonly env: NodeJS.ProcessEnv;
  readonly awsClients: (region: string) => AwsClients;
}

export const processPreflightDeps = (context?: string): PreflightDeps => ({
  write: (t) => void process.stdout.write(t),
  writeError: (t) => void process.stderr.write(t),
  lister: () => kubeLister({ context }),
  kops: (binary, name, state) => new KopsCli(binary, name, state),
  env: process.env,
  awsClients,
});

/** The exit code of a set of results: fail over unreadable over warn. */
export function preflightExitCode(results: readonly CheckResult[], unreadable: boolean): number {
  if (results.some((r) => r.status === "fail")) return EXIT_CODES.fail;
  if (unreadable) return EXIT_CODES.unreadable;
  return results.some((r) => r.status === "warn") ? EXIT_CODES.warn : EXIT_CODES.ok;
}

function defaultStage(record: StageRecord | undefined): Stage {
  if (record === undefined) return Stage.Prepare;
  const next = record.stage + 1;
  return isStage(next) ? next : Stage.Complete;
}

/** Runs preflight and prints the table; resolves to the exit code. */
export async function runPreflight(opts: PreflightOptions, deps: PreflightDeps): Promise<number> {
  const { nodes, record, error } = await readNodesAndRecord(deps.lister);
  if (error !== undefined) {
    deps.writeError(
      `cni-migration: could not read the cluster (${error}); node and stage-order checks ` +
        `will warn. Check the kubeconfig context (--context, KUBECONFIG).\n`,
    );
  }
  if (opts.stage === undefined && record === "unreadable") {
    deps.writeError(
      "cni-migration: the stage record could not be read, so the stage to check is not known; " +
        "pass --stage N.\n",
    );
    return EXIT_CODES.unreadable;
  }
  const stage = opts.stage ?? defaultStage(record === "unreadable" ? undefined : record);
  const stack = opts.stack ?? `stage${stage}`;

  const file = stackConfigPath(opts.projectDir, stack);
  let config;
  try {
    const raw = { ...(readStackConfig(file) ?? {}) };
    raw.stage ??= String(stage);
    if (opts.kops !== undefined) raw.kopsBinary = opts.kops;
    if (opts.name !== undefined) raw.clusterName = opts.name;
    if (opts.state !== undefined) raw.stateStore = opts.state;
    config = parseConfig(raw, stack);
  } catch (e) {
    const hint =
      e instanceof ConfigError
        ? `\n(read from ${file}; --name, --state and --kops override it)`
        : "";
    deps.writeError(`cni-migration: ${(e as Error).message}${hint}\n`);
    return EXIT_CODES.fail;
  }
  if (config.stage !== stage) {
    deps.writeError(
      `cni-migration: --stage is ${stage} but ${file} sets \`cni-migration:stage\` to ` +
        `${config.stage}. Pass --stack with the stack of stage ${stage}.\n`,
    );
    return EXIT_CODES.fail;
  }

  const kops = deps.kops(config.kopsBinary, config.clusterName, config.stateStore);
  let cluster;
  let groups;
  let kopsVersion;
  try {
    cluster = kops.getCluster();
    groups = kops.getInstanceGroups();
    kopsVersion = kops.version();
  } catch (e) {
    deps.writeError(`cni-migration: could not read the kops specs: ${(e as Error).message}\n`);
    return EXIT_CODES.unreadable;
  }
  const facts = clusterFacts(cluster);

  // Checked as `promote --to N` leaves it: the cluster moved from the stack of stage N-1.
  const movedFrom =
    record !== "unreadable" &&
    record !== undefined &&
    record.stack !== stack &&
    record.stage === stage - 1
      ? record.stack
      : undefined;
  const values = ciliumValues({
    stage,
    cilium: config.cilium,
    apiServerPort: config.cilium.apiServerPort ?? (facts.apiLoadBalancerSsl ? 8443 : 443),
    policiesOff: config.networkPolicies === "none",
  });
  const results = runPreflightChecks({
    config,
    stackName: stack,
    facts,
    groups,
    kopsVersion,
    nodes,
    record:
      movedFrom !== undefined && record !== "unreadable" && record !== undefined
        ? { stage: record.stage, stack }
        : record,
    values,
    chart: chartFor(config),
  }).map((r) =>
    r.id === "stage-order" && movedFrom !== undefined && r.status === "pass"
      ? {
          ...r,
          note: `${r.note}, once \`cni-migration promote --to ${stage}\` moves the cluster from stack ${movedFrom}`,
        }
      : r,
  );

  let aws: CheckResult[];
  const region =
    opts.region ?? deps.env.AWS_REGION ?? deps.env.AWS_DEFAULT_REGION ?? regionOf(cluster);
  if (opts.aws === "off") aws = skippedAwsChecks("--aws off");
  else if (opts.aws === "auto" && awsCredentialSource(deps.env) === undefined) {
    aws = skippedAwsChecks("no AWS credentials");
  } else if (region === undefined) {
    aws = skippedAwsChecks("no AWS region: pass --region");
  } else {
    aws = await runAwsChecks(
      {
        clusterName: config.clusterName,
        stage,
        appliedStage: record === "unreadable" ? "unknown" : record?.stage,
        apiServerHost: config.cilium.apiServerHost,
        ingressGroups: config.ingressInstanceGroups,
        groups,
      },
      deps.awsClients(region),
    );
  }

  const all = [...results, ...aws];
  deps.write(
    `preflight of ${describeStage(stage)} for stack ${stack} on cluster ${facts.name}\n\n` +
      `${renderChecks(all).join("\n")}\n`,
  );
  return preflightExitCode(all, error !== undefined);
}
