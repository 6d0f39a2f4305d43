/**
 * `cni-migration`: the operator's CLI. The program's commands call the steps below; each prints
 * what it does and exits non-zero with an actionable message when it cannot.
 */
import { Command, InvalidArgumentError } from "commander";
import { parseStage } from "../lib/stage";
import { registerOperatorCommands } from "./operator-commands";
import { registerPromoteCommand } from "./promote";
import { kopsApply, kopsRun, labelNodes, removeCanal, waitCrds } from "./steps";

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];
const stageOption = (v: string): number => {
  try {
    return parseStage(v, "--stage");
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

export function buildCli(): Command {
  const program = new Command("cni-migration")
    .description("A staged, checked Canal to Cilium migration for kops clusters.")
    .showHelpAfterError();

  program
    .command("kops-apply")
    .description("Write the fields the migration owns into one kops object (used by the program).")
    .argument("<kind>", "cluster or instancegroup")
    .argument("[name]", "the instance group's name")
    .requiredOption("--stage <n>", "the stage to write", stageOption)
    .option("--ingress <group>", "an ingress instance group (repeatable)", collect, [])
    .action((kind: string, name: string | undefined, o: { stage: number; ingress: string[] }) => {
      if (kind === "cluster") kopsApply({ kind: "cluster" }, o.stage, o.ingress, print);
      else if (kind === "instancegroup" && name)
        kopsApply({ kind, name }, o.stage, o.ingress, print);
      else
        throw new InvalidArgumentError(
          `kind is ${JSON.stringify(kind)}; use \`cluster\` or \`instancegroup NAME\`.`,
        );
    });

  program
    .command("kops-run")
    .description(
      "Run kops against the cluster in KOPS_CLUSTER_NAME/KOPS_STATE_STORE, with a timeout.",
    )
    .requiredOption("--timeout <duration>", "stop kops after this long, e.g. 6h")
    .argument("<args...>", "kops arguments")
    .action((args: string[], o: { timeout: string }) => kopsRun(args, o.timeout, print));

  program
    .command("label-nodes")
    .description("Label every node, then check that none lacks the label.")
    .requiredOption("--label <key=value>", "the label")
    .action((o: { label: string }) => {
      const i = o.label.indexOf("=");
      if (i < 1)
        throw new InvalidArgumentError(`--label is ${JSON.stringify(o.label)}; use key=value.`);
      return labelNodes(o.label.slice(0, i), o.label.slice(i + 1), print);
    });

  program
    .command("wait-crds")
    .description("Wait until CRDs are established.")
    .requiredOption("--crd <name>", "a CRD name (repeatable)", collect, [])
    .option("--timeout <duration>", "give up after this long", "10m")
    .action((o: { crd: string[]; timeout: string }) => waitCrds(o.crd, o.timeout, print));

  program
    .command("remove-canal")
    .description("Delete canal and calico-kube-controllers once no node uses them.")
    .requiredOption("--daemonset <name>", "canal's DaemonSet")
    .requiredOption("--deployment <name>", "calico-kube-controllers' Deployment")
    .action((o: { daemonset: string; deployment: string }) =>
      removeCanal(o.daemonset, o.deployment, print),
    );

  registerOperatorCommands(program);
  registerPromoteCommand(program);
  return program;
}

export function main(argv: string[]): void {
  buildCli()
    .parseAsync(argv)
    .catch((e: unknown) => {
      process.stderr.write(`cni-migration: ${(e as Error).message}\n`);
      process.exitCode = 1;
    });
}
