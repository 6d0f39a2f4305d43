/**
 * `cni-migration promote` carried out: reads who holds the cluster, decides with promote.ts,
 * checks the gates before, shows the transition's diff (`--preview`) or moves the state, records
 * the holder, runs `up` through the Automation API with the inline program and the policy pack,
 * waits for the stage's rolls, and records the promotion in the cluster. Every step can be
 * re-run: a promotion stopped anywhere continues where it stopped.
 */
import * as automation from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseStageRecord } from "./cluster";
import { runCommand } from "./exec";
import { Lister, readCluster } from "./cluster-read";
import { readHistory, recordPromotion } from "./history";
import {
  PromotionEntry,
  PromotionPlan,
  PromotionRefused,
  planPromotion,
  rollProgressLine,
  soakBlocker,
  gateBlockers,
} from "./promote";
import { ingressGroupsOf } from "./stack-config";
import { heldUrns, moveResources, recordHolder, stageStack } from "./stacks";
import { ALL_STAGES, Stage, describeStage } from "./stage";
import { StatusReport, buildStatus } from "./status";

export interface PromoteOptions {
  readonly to: Stage;
  /** Show the transition's diff on a copy of the state; change nothing. */
  readonly preview: boolean;
  /** Do not ask before changing anything. */
  readonly yes: boolean;
  readonly stackPrefix: string;
  /** `--min-soak`: seconds since the last promotion; 0 for none. */
  readonly minSoakSeconds: number;
  /** `--timeout`: how long to wait for the stage's rolls after `up`. */
  readonly timeoutSeconds: number;
  /** `--gate-wait`: how long the gates before may take to pass; 0 checks once. */
  readonly gateWaitSeconds: number;
  /** The kubeconfig file of the cluster (its current context is used); default KUBECONFIG. */
  readonly kubeconfig?: string;
  /** Policy pack directories applied to preview and up. */
  readonly policyPacks: readonly string[];
  /** Who promotes, for the record. */
  readonly who: string;
  readonly pollSeconds?: number;
  readonly progressSeconds?: number;
}

export interface PromoteDeps {
  /** A workspace whose program is the migration's inline program. */
  readonly workspace: automation.LocalWorkspace;
  /** Environment of the Pulumi CLI (`pulumi state move`). */
  readonly env: NodeJS.ProcessEnv;
  /** The inline program; `assumeHolder` for previews (see lib/main.ts). */
  readonly program: (assumeHolder: boolean) => automation.PulumiFn;
  readonly lister: () => Promise<Lister>;
  readonly log: (line: string) => void;
  readonly confirm: (question: string) => Promise<boolean>;
  readonly now?: () => Date;
  readonly onUpOutput?: (text: string) => void;
  /** Aborts the `up` (Pulumi cancels it as on Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Called once the gates have passed and the state is in the target stack, before `up`. */
  readonly beforeUp?: () => void;
}

export interface PromoteResult {
  readonly plan: PromotionPlan;
  /** The preview's output with `--preview`. */
  readonly preview?: string;
  readonly changes?: Record<string, number>;
  readonly entry?: PromotionEntry;
}

/** The stage did not settle, or `up` failed, after the promotion started changing things. */
export class PromotionFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PromotionFailed";
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The most useful part of a failed `up`: the program's own refusal when there is one. */
export function upError(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const at = text.indexOf("preflight refused");
  const cfg = text.indexOf("invalid configuration");
  const start = at >= 0 ? at : cfg;
  if (start >= 0) {
    return text
      .slice(start)
      .split("\n")
      .filter((l) => l.startsWith("  - ") || l.startsWith("preflight") || l.startsWith("invalid"))
      .join("\n");
  }
  return text.split("\n").slice(-30).join("\n");
}

interface StackSettings {
  readonly kops: { binary: string; clusterName: string; stateStore: string };
  readonly ingress: string[];
}

async function settingsOf(ws: automation.LocalWorkspace, stack: string): Promise<StackSettings> {
  const cfg = await ws.getAllConfig(stack);
  const get = (k: string): string | undefined => cfg[`cni-migration:${k}`]?.value;
  return {
    kops: {
      binary: get("kopsBinary") ?? "kops",
      clusterName: get("clusterName") ?? "",
      stateStore: get("stateStore") ?? "",
    },
    ingress: ingressGroupsOf({ ingressInstanceGroups: get("ingressInstanceGroups") }),
  };
}

/** Which stage stacks exist and which of them hold resources. */
async function holdingStages(
  ws: automation.LocalWorkspace,
  prefix: string,
): Promise<{ holders: Stage[]; existing: Set<string> }> {
  const existing = new Set((await ws.listStacks()).map((s) => s.name.split("/").pop() ?? s.name));
  const holders: Stage[] = [];
  for (const s of ALL_STAGES) {
    const name = stageStack(s, prefix);
    if (!existing.has(name)) continue;
    if ((await heldUrns(await automation.Stack.select(name, ws))).length > 0) holders.push(s);
  }
  return { holders, existing };
}

/** Reads the cluster into a status report, with the stage record as it is now. */
async function readStatus(lister: Lister, ingress: string[], now: Date): Promise<StatusReport> {
  return buildStatus(await readCluster(lister), {
    readAt: now,
    context: lister.context,
    ingressGroups: ingress,
  });
}

/** Waits until nothing blocks the stage and kops validates the cluster; the last problem else. */
async function settle(
  opts: PromoteOptions,
  deps: PromoteDeps,
  settings: StackSettings,
  waitSeconds: number,
  progress?: Stage,
): Promise<string | undefined> {
  const now = deps.now ?? ((): Date => new Date());
  const started = now().getTime();
  const lister = await deps.lister();
  const kops = settings.kops;
  let lastProgress = started;
  const warned = new Set<string>();
  for (;;) {
    const report = await readStatus(lister, settings.ingress, now());
    for (const p of report.problems.filter((x) => !warned.has(x))) {
      warned.add(p);
      deps.log(`promote: warning: ${p}`);
    }
    let problem = gateBlockers(report).join(" ");
    if (problem === "") {
      try {
        await runCommand(
          kops.binary,
          ["validate", "cluster", "--name", kops.clusterName, "--state", kops.stateStore],
          { ...deps.env, ...(opts.kubeconfig ? { KUBECONFIG: opts.kubeconfig } : {}) },
        );
        return undefined;
      } catch (e) {
        problem = `kops validate cluster failed: ${(e as Error).message}`;
      }
    }
    const elapsed = now().getTime() - started;
    if (elapsed >= waitSeconds * 1000) return problem;
    if (
      progress !== undefined &&
      now().getTime() - lastProgress >= (opts.progressSeconds ?? 15) * 1000
    ) {
      lastProgress = now().getTime();
      deps.log(
        rollProgressLine(progress, report.instanceGroups, Math.round(elapsed / 1000), problem),
      );
    }
    await sleep((opts.pollSeconds ?? 2) * 1000);
  }
}

/**
 * Previews the target stack with the state it will hold after the move, without moving the real
 * state: the source stack's state is exported into a throwaway DIY backend, moved there with
 * `pulumi state move` exactly as the promotion will, and the target stack previewed on that
 * copy. The cluster and the kops state are only read.
 */
async function previewOnCopy(
  opts: PromoteOptions,
  deps: PromoteDeps,
  plan: PromotionPlan,
): Promise<automation.PreviewResult> {
  const ws = deps.workspace;
  const target = stageStack(plan.to, opts.stackPrefix);
  const previewOpts = (): automation.PreviewOptions => ({
    color: "never",
    diff: true,
    program: deps.program(true),
    policyPacks: [...opts.policyPacks],
  });
  if (!plan.move || plan.holder === undefined) {
    const stack = await automation.Stack.createOrSelect(target, ws);
    return stack.preview(previewOpts());
  }
  const source = stageStack(plan.holder, opts.stackPrefix);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-preview-"));
  try {
    const backend = `file://${path.join(tmp, "state")}`;
    fs.mkdirSync(path.join(tmp, "state"));
    const env = { ...deps.env, PULUMI_BACKEND_URL: backend } as Record<string, string>;
    const project = await ws.projectSettings();
    const copy = await automation.LocalWorkspace.create({
      workDir: (fs.mkdirSync(path.join(tmp, "work")), path.join(tmp, "work")),
      program: deps.program(true),
      envVars: env,
      projectSettings: { ...project, backend: { url: backend } },
    });
    const exported = await (await automation.Stack.select(source, ws)).exportStack();
    for (const name of [source, target]) {
      const settings = await ws.stackSettings(name).catch(() => ({}));
      await automation.Stack.create(name, copy);
      await copy.saveStackSettings(name, settings);
    }
    await (await automation.Stack.select(source, copy)).importStack(exported);
    const to = await automation.Stack.select(target, copy);
    await moveResources(await automation.Stack.select(source, copy), to, {
      cwd: copy.workDir,
      env,
    });
    return await to.preview(previewOpts());
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** `cni-migration promote --to N`: see the module comment. */
export async function promote(opts: PromoteOptions, deps: PromoteDeps): Promise<PromoteResult> {
  const ws = deps.workspace;
  const now = deps.now ?? ((): Date => new Date());
  const log = deps.log;
  const { holders } = await holdingStages(ws, opts.stackPrefix);
  const lister = await deps.lister();
  const read = await readCluster(lister);
  const record = parseStageRecord(read.stageRecord && { ...read.stageRecord });
  const plan = planPromotion({ holders, record, prefix: opts.stackPrefix }, opts.to);
  const target = stageStack(opts.to, opts.stackPrefix);
  const from = plan.holder === undefined ? undefined : stageStack(plan.holder, opts.stackPrefix);
  log(
    `promote: ${plan.kind} to ${describeStage(opts.to)} (stack ${target})` +
      (from && from !== target ? ` from stack ${from}` : "") +
      `: ${plan.transition.reason}` +
      (plan.transition.reversible ? "" : " (not reversible by the program)"),
  );
  const settings = await settingsOf(ws, from ?? target);

  if (plan.gatesBefore) {
    const blocked = await settle(opts, deps, settings, opts.gateWaitSeconds);
    if (blocked !== undefined) {
      throw new PromotionRefused(
        `not promoting to ${describeStage(opts.to)}: ` +
          `${plan.current === undefined ? "the cluster" : describeStage(plan.current)} has not ` +
          `settled: ${blocked}`,
      );
    }
    const soak = soakBlocker((await readHistory(lister)).pop(), now(), opts.minSoakSeconds);
    if (soak !== undefined) throw new PromotionRefused(`not promoting yet: ${soak}`);
    log("promote: gates before passed (stage settled, kops validate cluster, soak)");
  }

  if (opts.preview) {
    const result = await previewOnCopy(opts, deps, plan);
    return { plan, preview: result.stdout, changes: result.changeSummary };
  }
  if (!opts.yes && !(await deps.confirm(`Promote the cluster to ${describeStage(opts.to)}?`))) {
    throw new PromotionRefused("not promoting: not confirmed (pass --yes to skip the question)");
  }

  const stack = await automation.Stack.createOrSelect(target, ws);
  if (plan.move && from !== undefined) {
    const moved = await moveResources(await automation.Stack.select(from, ws), stack, {
      cwd: ws.workDir,
      env: deps.env,
    });
    log(`promote: moved ${moved} resources from stack ${from} to stack ${target}`);
  }
  if (plan.holder !== undefined) await recordHolder(opts.kubeconfig, target);

  deps.beforeUp?.();
  let up: automation.UpResult;
  try {
    up = await stack.up({
      color: "never",
      program: deps.program(false),
      policyPacks: [...opts.policyPacks],
      onOutput: deps.onUpOutput,
      signal: deps.signal,
    });
  } catch (e) {
    throw new PromotionFailed(
      `\`up\` of stack ${target} failed; stack ${target} holds the cluster. Fix the cause and ` +
        `run \`cni-migration promote --to ${opts.to}\` again to continue:\n${upError(e)}`,
    );
  }
  log(`promote: up ${up.summary.result} (${JSON.stringify(up.summary.resourceChanges ?? {})})`);

  const after = await settle(opts, deps, settings, opts.timeoutSeconds, opts.to);
  if (after !== undefined) {
    throw new PromotionFailed(
      `${describeStage(opts.to)} did not settle within ${opts.timeoutSeconds}s: ${after} ` +
        `Stack ${target} holds the cluster; run \`cni-migration promote --to ${opts.to}\` again ` +
        `to keep waiting, or see \`cni-migration status\`.`,
    );
  }
  const entry: PromotionEntry = {
    stage: opts.to,
    stack: target,
    from: from ?? null,
    at: now().toISOString(),
    by: opts.who,
    update: up.summary.version || (await stack.history()).length || null,
    kind: plan.kind,
  };
  const key = await recordPromotion(opts.kubeconfig, entry);
  log(`promote: ${describeStage(opts.to)} settled; recorded as ${key} by ${opts.who}`);
  return { plan, changes: up.summary.resourceChanges, entry };
}
