/**
 * The operator's read-only commands, `status` and `preflight`. Their modules are loaded when a
 * command runs, so the other commands do not pay for the AWS SDK.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { parseStage } from "../lib/stage";
import type { AwsMode } from "./preflight";

const collect = (v: string, prev: string[]): string[] => [...prev, v];

const positiveSeconds = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(
      `--interval is ${JSON.stringify(v)}; give a number of seconds above 0, e.g. 5.`,
    );
  }
  return n;
};

const stageOption = (v: string): number => {
  try {
    return parseStage(v, "--stage");
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

const awsMode = (v: string): AwsMode => {
  if (v === "auto" || v === "on" || v === "off") return v;
  throw new InvalidArgumentError(
    `--aws is ${JSON.stringify(v)}; use auto (when credentials are configured in the ` +
      `environment or ~/.aws), on (the SDK's whole credential chain, instance roles too) or off.`,
  );
};

export const STATUS_EXIT_HELP = `
Exit codes:
  0  settled: nothing blocks the next promotion
  1  a problem: a broken node, a pod on a network its node does not intend, an invalid stage record
  2  warnings only: nodes not yet in the state the stage requires (a roll), DaemonSets not ready
  3  the cluster could not be read`;

export const PREFLIGHT_EXIT_HELP = `
Exit codes:
  0  every check passed or was skipped
  1  a check failed, or the configuration is invalid
  2  warnings only
  3  the cluster (the API server or the kops specs) could not be read`;

const projectDir = (): Option =>
  new Option("--project-dir <dir>", "where the Pulumi.<stack>.yaml files are").default(
    process.cwd(),
    "the current directory",
  );

export function registerOperatorCommands(program: Command): void {
  program
    .command("status")
    .description(
      "Show where the migration stands: nodes by migration state per instance group and what " +
        "broken nodes lack, the migration's DaemonSets, pods by primary network, the stage and " +
        "stack holding the cluster, what blocks the next promotion and, during a roll, its progress.",
    )
    .option("--context <name>", "kubeconfig context to read (default: the current one)")
    .option("--json", "print JSON as documented in schemas/status.schema.json")
    .option("--watch", "read again every --interval seconds and redraw")
    .option("--interval <seconds>", "seconds between reads with --watch", positiveSeconds, 5)
    .addOption(
      new Option("--ingress <group>", "an ingress instance group (repeatable)")
        .argParser(collect)
        .default(
          [],
          "`ingressInstanceGroups` in Pulumi.<stack>.yaml of the stack holding the cluster",
        ),
    )
    .addOption(projectDir())
    .addHelpText("after", STATUS_EXIT_HELP)
    .action(
      async (o: {
        context?: string;
        json?: boolean;
        watch?: boolean;
        interval: number;
        ingress: string[];
        projectDir: string;
      }) => {
        const { processIo, runStatus } = await import("./status");
        const io = processIo({ context: o.context });
        process.once("SIGINT", io.stop);
        try {
          process.exitCode = await runStatus(
            { ...o, json: o.json === true, watch: o.watch === true },
            io,
          );
        } finally {
          process.removeListener("SIGINT", io.stop);
        }
      },
    );

  program
    .command("preflight")
    .description(
      "Run every check of the program's preflight, and the AWS checks when AWS credentials are " +
        "configured, and print a table of pass / warn / fail / skipped with the fix for each " +
        "problem. Reads kops and the cluster; changes nothing.",
    )
    .option(
      "--stage <n>",
      "the stage to check (default: the one after the stage the cluster records)",
      stageOption,
    )
    .option("--stack <name>", "the stack that applies the stage (default: stage<N>)")
    .addOption(projectDir())
    .option("--kops <binary>", "the kops binary (default: `kopsBinary` of the stack's config)")
    .option("--name <cluster>", "kops --name (default: `clusterName` of the stack's config)")
    .option("--state <store>", "kops --state (default: `stateStore` of the stack's config)")
    .option("--context <name>", "kubeconfig context to read (default: the current one)")
    .option("--region <region>", "AWS region (default: AWS_REGION, else the cluster's zones)")
    .option("--aws <mode>", "AWS checks: auto, on or off", awsMode, "auto")
    .addHelpText("after", PREFLIGHT_EXIT_HELP)
    .action(
      async (o: {
        stage?: number;
        stack?: string;
        projectDir: string;
        kops?: string;
        name?: string;
        state?: string;
        context?: string;
        region?: string;
        aws: AwsMode;
      }) => {
        const { processPreflightDeps, runPreflight } = await import("./preflight");
        process.exitCode = await runPreflight(o, processPreflightDeps(o.context));
      },
    );
}
