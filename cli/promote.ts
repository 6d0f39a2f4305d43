/**
 * `cni-migration promote --to N`: moves the cluster to the next stage (or back one where that is
 * reversible) through the Automation API with the program inline, with the gates before and
 * after, the project's policy pack, and a record of the promotion in the cluster. The Pulumi
 * backend and passphrase come from the environment as for `pulumi` itself.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline/promises";
import { durationSeconds } from "../lib/config";
import { parseStage, validStagesText } from "../lib/stage";

/** The project's policy pack, applied unless `--no-policy`. */
export const DEFAULT_POLICY_PACK = path.join(__dirname, "..", "policy");
const PLUGINS = path.join(__dirname, "..", "bin", "plugins");

export const PROMOTE_EXIT_HELP = `
Exit codes:
  0  promoted (or, with --preview, previewed)
  1  refused before any change (a gate, a skipped or irreversible stage), or a failed up or roll:
     the message says which, what holds the cluster, and how to continue`;

const duration =
  (flag: string) =>
  (v: string): number => {
    try {
      return durationSeconds(v);
    } catch {
      throw new InvalidArgumentError(
        `${flag} is ${JSON.stringify(v)}; give a duration such as 30m, 2h or 1h30m (h, m, s).`,
      );
    }
  };

const stageOption = (v: string): number => {
  try {
    return parseStage(v, "--to");
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

export interface PromoteCliOptions {
  readonly to: number;
  readonly preview?: boolean;
  readonly yes?: boolean;
  readonly stackPrefix: string;
  readonly minSoak: number;
  readonly timeout: number;
  readonly gateWait: number;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly cwd: string;
  readonly policyPack: string[];
  readonly policy: boolean;
  readonly who: string;
}

/** A kubeconfig file whose current context is `context`, so the program and kops use it too. */
async function kubeconfigFor(
  file: string | undefined,
  context: string | undefined,
): Promise<string | undefined> {
  if (context === undefined) return file;
  const { loadKubeConfig } = await import("../lib/history");
  const kc = await loadKubeConfig(file);
  if (!kc.getContexts().some((c) => c.name === context)) {
    throw new InvalidArgumentError(
      `--context is ${JSON.stringify(context)}, which is not a context of the kubeconfig. ` +
        `Contexts: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(", ") || "(none)"
        }.`,
    );
  }
  kc.setCurrentContext(context);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-kubeconfig-"));
  const out = path.join(dir, "config");
  fs.writeFileSync(out, kc.exportConfig(), { mode: 0o600 });
  return out;
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new InvalidArgumentError(
      "promote changes the cluster and stdin is not a terminal to ask; pass --yes to go ahead.",
    );
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** Runs `promote` with the user's environment; resolves to the exit code. */
export async function runPromoteCli(o: PromoteCliOptions): Promise<number> {
  const automation = await import("@pulumi/pulumi/automation");
  const { main } = await import("../lib/main");
  const { kubeLister } = await import("../lib/cluster-read");
  const { promote } = await import("../lib/promote-run");
  const cwd = path.resolve(o.cwd);
  if (!fs.existsSync(path.join(cwd, "Pulumi.yaml"))) {
    throw new InvalidArgumentError(
      `--cwd ${cwd} has no Pulumi.yaml; point it at the project with the Pulumi.stageN.yaml files.`,
    );
  }
  const kubeconfig = await kubeconfigFor(o.kubeconfig, o.context);
  // The program runs in this process and reads the cluster through KUBECONFIG.
  if (kubeconfig !== undefined) process.env.KUBECONFIG = path.resolve(kubeconfig);
  process.env.PATH = `${PLUGINS}${path.delimiter}${process.env.PATH ?? ""}`;
  process.env.PULUMI_SKIP_UPDATE_CHECK ??= "true";
  const env = { ...process.env };
  const workspace = await automation.LocalWorkspace.create({
    workDir: cwd,
    program: () => main(),
    envVars: env as Record<string, string>,
  });
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const result = await promote(
      {
        to: parseStage(o.to, "--to"),
        preview: o.preview === true,
        yes: o.yes === true,
        stackPrefix: o.stackPrefix,
        minSoakSeconds: o.minSoak,
        timeoutSeconds: o.timeout,
        gateWaitSeconds: o.gateWait,
        kubeconfig: process.env.KUBECONFIG,
        policyPacks: o.policy
          ? o.policyPack.length > 0
            ? o.policyPack
            : [DEFAULT_POLICY_PACK]
          : [],
        who: o.who,
      },
      {
        workspace,
        env,
        program: (assumeHolder) => () => main({ assumeHolder }),
        lister: () => kubeLister({ kubeconfig: process.env.KUBECONFIG }),
        log,
        confirm,
        onUpOutput: (s) => void process.stderr.write(s),
        signal: abort.signal,
      },
    );
    if (result.preview !== undefined) process.stdout.write(result.preview);
    return 0;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

export function registerPromoteCommand(program: Command): void {
  program
    .command("promote")
    .description(
      "Move the cluster to the next stage, or back one stage where that is reversible: gates " +
        "before (the current stage settled, kops validate, --min-soak), the state moved to the " +
        "target stack, up with the policy pack, the stage's rolls awaited, the promotion recorded " +
        "in kube-system/cni-migration-history. Re-run after an interruption to continue.",
    )
    .requiredOption("--to <n>", `the target stage: ${validStagesText()}`, stageOption)
    .option("--preview", "show the transition's diff on a copy of the state; change nothing")
    .option("--yes", "do not ask before changing anything (needed without a terminal)")
    .option("--stack-prefix <prefix>", "stacks are <prefix>-stage<N> (several clusters)", "")
    .addOption(
      new Option("--min-soak <duration>", "time since the last promotion")
        .argParser(duration("--min-soak"))
        .default(0, "none"),
    )
    .addOption(
      new Option("--timeout <duration>", "how long to wait for the stage's rolls after up")
        .argParser(duration("--timeout"))
        .default(6 * 3600, "6h"),
    )
    .addOption(
      new Option("--gate-wait <duration>", "how long the gates before may take to pass")
        .argParser(duration("--gate-wait"))
        .default(0, "check once"),
    )
    .option("--kubeconfig <file>", "kubeconfig of the cluster (default: KUBECONFIG)")
    .option("--context <name>", "kubeconfig context (default: the current one)")
    .addOption(
      new Option("--cwd <dir>", "the project: Pulumi.yaml and Pulumi.stageN.yaml").default(
        process.cwd(),
        "the current directory",
      ),
    )
    .option(
      "--policy-pack <dir>",
      "policy pack to apply (repeatable; default: the project's policy/)",
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option("--no-policy", "apply no policy pack")
    .option(
      "--who <name>",
      "who promotes, for the record",
      process.env.GITHUB_ACTOR ?? os.userInfo().username,
    )
    .addHelpText("after", PROMOTE_EXIT_HELP)
    .action(async (o: PromoteCliOptions) => {
      process.exitCode = await runPromoteCli(o);
    });
}
