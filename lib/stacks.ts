/**
 * The stage stacks of one cluster and the move of the cluster's resources between them. Pulumi
 * URNs contain the stack name, so the resources live in exactly one stage stack at a time: a
 * promotion moves them with `pulumi state move`, records the new holder in the cluster, and
 * runs `up` on the target stack. Each step can be re-run: a move finds the resources where they
 * are, so an interrupted promotion continues where it stopped.
 */
import { spawn } from "node:child_process";
import * as automation from "@pulumi/pulumi/automation";
import { KUBE_SYSTEM, STAGE_RECORD_CONFIGMAP } from "./labels";
import { Stage } from "./stage";

/** The stack of a stage: `stage2`, or `<prefix>-stage2` for several clusters in one backend. */
export function stageStack(stage: Stage, prefix = ""): string {
  return prefix ? `${prefix}-stage${stage}` : `stage${stage}`;
}

const ROOT_TYPE = "pulumi:pulumi:Stack";

/** The URNs a stack holds, without its root Stack resource. */
export async function heldUrns(stack: automation.Stack): Promise<string[]> {
  const state = await stack.exportStack();
  const resources =
    (state.deployment as { resources?: { urn: string; type: string }[] }).resources ?? [];
  return resources
    .filter((r) => r.type !== ROOT_TYPE && !r.type.startsWith("pulumi:providers:"))
    .map((r) => r.urn);
}

/** Runs the Pulumi CLI with the workspace's environment; rejects with its output on failure. */
export function runPulumi(
  args: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", ["--non-interactive", ...args], { cwd: opts.cwd, env: opts.env });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.on("error", (e) =>
      reject(new Error(`could not run pulumi: ${e.message}; is the Pulumi CLI on PATH?`)),
    );
    child.on("close", (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new Error(`pulumi ${args.slice(0, 2).join(" ")} failed (exit ${code}): ${out.trim()}`),
          ),
    );
  });
}

/**
 * Moves every resource of `from` into `to`. Does nothing when `from` holds nothing (the move
 * already happened); refuses when both hold resources, which needs a person to look.
 */
export async function moveResources(
  from: automation.Stack,
  to: automation.Stack,
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<number> {
  const urns = await heldUrns(from);
  if (urns.length === 0) return 0;
  const already = await heldUrns(to);
  if (already.length > 0) {
    throw new Error(
      `both stack ${from.name} (${urns.length} resources) and stack ${to.name} (${already.length}) ` +
        `hold resources of the cluster; only one may. Inspect them with \`pulumi stack -s NAME ` +
        `--show-urns\` and move the rest with \`pulumi state move --source ${from.name} --dest ` +
        `${to.name} URN...\` before promoting again.`,
    );
  }
  await runPulumi(
    ["state", "move", "--source", from.name, "--dest", to.name, "--yes", ...urns],
    opts,
  );
  return urns.length;
}

/** Records in the cluster that `stack` now holds it (the stage stays until its `up` succeeds). */
export async function recordHolder(kubeconfig: string | undefined, stack: string): Promise<void> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  try {
    await core.patchNamespacedConfigMap(
      { name: STAGE_RECORD_CONFIGMAP, namespace: KUBE_SYSTEM, body: { data: { stack } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
  }
}
