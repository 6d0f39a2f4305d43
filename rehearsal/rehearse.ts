/**
 * A rehearsal: the user's kops specs become a simulated cluster, and the real Pulumi engine
 * moves it from stage 0 to stage 4 the way a user would (gate, move the state to the next stage
 * stack, record the holder, `up`), while {@link InvariantMonitor} checks the safety invariants.
 */
import * as automation from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as path from "node:path";
import { listAllNodes } from "../cli/kube";
import { NamedRange } from "../lib/cidr";
import { clusterFacts } from "../lib/kops";
import { kubeLister } from "../lib/cluster-read";
import { main } from "../lib/main";
import { PromotionRefused } from "../lib/promote";
import { promote } from "../lib/promote-run";
import { assessNode } from "../lib/node-state";
import { nodeRuntimes } from "../lib/snapshot";
import { ALL_STAGES, Stage, describeStage, stageName } from "../lib/stage";
import { stageStack } from "../lib/stacks";
import { InvariantMonitor } from "./monitor";
import { FinalCounts, RehearsalReport, RollRecord, StageRecord, writeReport } from "./report";
import { runCommand as run } from "../lib/exec";
import { SimCluster, readSpecFile, seedCluster, startCluster } from "./sim-cluster";
import { SimState } from "./sim-state";
import { PROJECT_ROOT, pulumiEnv, toolchainEnv } from "./toolchain";

export interface RehearsalOptions {
  /** `kops get all -o yaml` output of the cluster to rehearse. */
  readonly clusterFile: string;
  readonly nodesPerIg: number;
  readonly out: string;
  /** Stack config to try, `key` (in the cni-migration namespace, dots for nesting) to value. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly keepCluster?: boolean;
  /** How often the invariants are checked. @default 1 s, and 1 s per 250 nodes above that */
  readonly intervalMs?: number;
  readonly graceSeconds?: number;
  /** Policy packs `promote` applies (the project's own in policy/ by default in the CLI). */
  readonly policyPacks?: readonly string[];
}

const KOPS_SIM = path.join(PROJECT_ROOT, "bin", "kops-sim");
const CHART = path.join(PROJECT_ROOT, "charts", "cilium-1.18.6.tgz");

type Log = (line: string) => void;

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split(".");
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== "object" || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]] = value;
}

/** The stack config of one stage: the rehearsal's defaults, then what the user wants to try. */
export function stageConfig(
  stage: Stage,
  clusterName: string,
  stateStore: string,
  user: Readonly<Record<string, unknown>>,
): Record<string, automation.ConfigValue> {
  const cfg: Record<string, unknown> = {
    clusterName,
    stateStore,
    kopsBinary: KOPS_SIM,
    cilium: { chart: CHART, apiServerHost: `api.internal.${clusterName}` },
    rollout: { validationTimeout: "10m", timeout: "3h" },
  };
  for (const [k, v] of Object.entries(user)) setPath(cfg, k, v);
  cfg.stage = String(stage);
  return Object.fromEntries(
    Object.entries(cfg).map(([k, v]) => [
      `cni-migration:${k}`,
      { value: typeof v === "string" ? v : JSON.stringify(v) },
    ]),
  );
}

function readJsonLines(file: string): Record<string, unknown>[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * One roll per `rolling-update --instance-group G` the stage ran, in order, with the nodes the
 * simulator replaced for it (0 when the group's nodes were already up to date).
 */
export function rollsOf(
  calls: Record<string, unknown>[],
  events: Record<string, unknown>[],
): RollRecord[] {
  const rolls: { instanceGroup: string; nodesReplaced: number; at: string }[] = [];
  for (const c of calls) {
    const argv = c.argv as string[];
    if (argv[0] !== "rolling-update") continue;
    argv.forEach((a, i) => {
      if (a === "--instance-group" && argv[i + 1]) {
        rolls.push({ instanceGroup: argv[i + 1], nodesReplaced: 0, at: String(c.at) });
      }
    });
  }
  for (const ev of events) {
    const group = String(ev.instanceGroup);
    const roll = [...rolls]
      .reverse()
      .find((r) => r.instanceGroup === group && r.at <= String(ev.at));
    if (roll) roll.nodesReplaced += Number(ev.nodesReplaced);
  }
  return rolls.map(({ instanceGroup, nodesReplaced }) => ({ instanceGroup, nodesReplaced }));
}

async function finalCounts(cluster: SimCluster): Promise<FinalCounts> {
  const kube = cluster.kube;
  const pods = (await kube.core.listNamespacedPod({ namespace: "kube-system" })).items;
  const count = (pred: (l: Record<string, string>) => boolean): number =>
    pods.filter((p) => pred(p.metadata?.labels ?? {})).length;
  const customCount = async (plural: string): Promise<number> => {
    const list = (await kube.custom.listClusterCustomObject({
      group: "cilium.io",
      version: "v2",
      plural,
    })) as {
      items?: unknown[];
    };
    return list.items?.length ?? 0;
  };
  const nodes = await listAllNodes(kube);
  let ciliumConfig: Record<string, string> | undefined;
  try {
    ciliumConfig = (
      await kube.core.readNamespacedConfigMap({ name: "cilium-config", namespace: "kube-system" })
    ).data;
  } catch {
    ciliumConfig = undefined;
  }
  const configs =
    (
      (await kube.custom.listClusterCustomObject({
        group: "cilium.io",
        version: "v2",
        plural: "ciliumnodeconfigs",
      })) as {
        items?: [];
      }
    ).items ?? [];
  const runtimes = nodeRuntimes({ nodes, pods, ciliumConfig, nodeConfigs: configs });
  return {
    nodes: nodes.length,
    canalPods: count((l) => l["k8s-app"] === "canal"),
    calicoKubeControllersPods: count((l) => l["k8s-app"] === "calico-kube-controllers"),
    multusPods: count((l) => l.app === "multus"),
    ciliumAgentPods: count((l) => l["k8s-app"] === "cilium"),
    kubeProxyPods: count((l) => l["k8s-app"] === "kube-proxy"),
    ciliumNodeConfigs: configs.length,
    ciliumClusterwideNetworkPolicies: await customCount("ciliumclusterwidenetworkpolicies"),
    nodesWithKpr: runtimes.filter((r) => assessNode(r).state === "cilium-kpr").length,
  };
}

export async function rehearse(opts: RehearsalOptions, log: Log): Promise<RehearsalReport> {
  const started = Date.now();
  const out = path.resolve(opts.out);
  fs.mkdirSync(out, { recursive: true });
  for (const f of fs.readdirSync(out))
    fs.rmSync(path.join(out, f), { recursive: true, force: true });
  const specs = readSpecFile(opts.clusterFile);
  const base = toolchainEnv(log);
  const cluster0 = specs.find((o) => o.kind === "Cluster");
  const clusterName = cluster0?.metadata.name ?? "";
  const stateStore = `file://${path.join(out, "kops-state")}`;
  const state = new SimState(stateStore, clusterName);
  const kopsArgs = ["--name", clusterName, "--state", stateStore];
  const stages: StageRecord[] = [];
  const report = (error: string | null, final: FinalCounts | null): RehearsalReport => ({
    verdict:
      error === null && stages.every((s) => s.violations.length === 0 && !s.error)
        ? "pass"
        : "fail",
    cluster: clusterName,
    clusterFile: opts.clusterFile,
    nodesPerInstanceGroup: opts.nodesPerIg,
    startedAt: new Date(started).toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    stages,
    final,
    error,
  });

  log(`cluster: starting a simulated ${clusterName} (kwok, loopback)`);
  const simName = `cnim-${process.pid}`;
  const cluster = await startCluster(simName, out, base);
  const env = pulumiEnv(base, out, cluster.kubeconfig);
  // The program runs in this process and the Automation API finds `pulumi` on this PATH.
  process.env.KUBECONFIG = cluster.kubeconfig;
  process.env.PATH = env.PATH;
  const monitor = new InvariantMonitor(cluster.kube, {
    ingressGroups: (opts.config.ingressInstanceGroups as string[] | undefined) ?? [],
    graceSeconds: opts.graceSeconds ?? 5,
  });
  let stopMonitor: (() => Promise<void>) | undefined;
  // The program runs in this process: its own error is the clearest account of a refusal.
  const program: { error?: Error } = {};
  try {
    state.init(specs, { kubeconfig: cluster.kubeconfig });
    const facts = clusterFacts(state.cluster());
    const ranges: NamedRange[] = [
      { cidr: facts.podCIDR, what: "the cluster's podCIDR" },
      { cidr: facts.serviceClusterIPRange, what: "the service range" },
      ...(facts.networkCIDR ? [{ cidr: facts.networkCIDR, what: "the VPC" }] : []),
    ];
    monitor.clusterRanges = ranges;
    const seeded = await seedCluster(cluster, state, opts.nodesPerIg, {
      ...base,
      KUBECONFIG: cluster.kubeconfig,
    });
    log(`cluster: ${seeded} nodes, kops's canal manifest and the Cilium CRDs in place`);

    const workDir = path.join(out, "pulumi");
    fs.mkdirSync(path.join(out, "pulumi-state"), { recursive: true });
    const ws = await automation.LocalWorkspace.create({
      workDir: (fs.mkdirSync(workDir, { recursive: true }), workDir),
      program: () => main(),
      envVars: env as Record<string, string>,
      projectSettings: {
        name: "cni-migration",
        runtime: "nodejs",
        backend: { url: env.PULUMI_BACKEND_URL },
      },
    });
    // One check a second, and one per 250 nodes a second on large clusters: each check lists
    // every node and kube-system pod, and the API server shares the machine with the rest.
    const interval = opts.intervalMs ?? Math.max(1000, Math.round((seeded / 250) * 1000));
    stopMonitor = monitor.start(interval, (e) => log(`monitor: ${e.message}`));

    for (const stage of ALL_STAGES) {
      const stageStart = Date.now();
      const callsBefore = readJsonLines(path.join(state.dir, "calls.log")).length;
      const eventsBefore = readJsonLines(path.join(state.dir, "events.log")).length;
      const checksBefore = monitor.checks;
      const violationsBefore = monitor.violations.length;
      log(`${describeStage(stage)}: starting`);
      let error: string | undefined;
      program.error = undefined;
      const stack = await automation.Stack.createOrSelect(stageStack(stage), ws);
      await stack.setAllConfig(stageConfig(stage, clusterName, stateStore, opts.config));
      const progress = setInterval(() => {
        const last = monitor.samples[monitor.samples.length - 1];
        if (last) {
          const parts = Object.entries(last)
            .filter(([k, v]) => k !== "at" && k !== "stage" && v !== 0)
            .map(([k, v]) => `${k} ${String(v)}`);
          log(
            `${describeStage(stage)}: nodes ${parts.join(", ")}; violations ${monitor.violations.length}`,
          );
        }
      }, 15_000);
      try {
        // Exactly as `cni-migration promote --to N --yes` does it: gates, move, record, up, rolls.
        await promote(
          {
            to: stage,
            preview: false,
            yes: true,
            stackPrefix: "",
            minSoakSeconds: 0,
            gateWaitSeconds: 5 * 60,
            timeoutSeconds: 5 * 60,
            kubeconfig: cluster.kubeconfig,
            policyPacks: opts.policyPacks ?? [],
            who: "rehearsal",
          },
          {
            workspace: ws,
            env,
            program: (assumeHolder) => async () => {
              try {
                return await main({ assumeHolder });
              } catch (e) {
                program.error = e as Error;
                throw e;
              }
            },
            lister: () => kubeLister({ kubeconfig: cluster.kubeconfig }),
            log,
            confirm: () => Promise.resolve(true),
            onUpOutput: (s) => fs.appendFileSync(path.join(out, `pulumi-up-stage${stage}.log`), s),
            beforeUp: () => {
              monitor.stage = stage;
            },
          },
        );
      } catch (e) {
        const message = (program.error as Error | undefined)?.message ?? (e as Error).message;
        error = message;
        if (e instanceof PromotionRefused && message.includes("has not settled")) {
          monitor.record("6-stage-order", "-", message);
        }
      } finally {
        clearInterval(progress);
      }
      fs.writeFileSync(
        path.join(out, `kops-specs-after-stage-${stage}.yaml`),
        await run(KOPS_SIM, ["get", "all", "-o", "yaml", ...kopsArgs], env),
      );
      const calls = readJsonLines(path.join(state.dir, "calls.log")).slice(callsBefore);
      const events = readJsonLines(path.join(state.dir, "events.log")).slice(eventsBefore);
      const rolls: RollRecord[] = rollsOf(calls, events);
      stages.push({
        stage,
        name: stageName(stage),
        startedAt: new Date(stageStart).toISOString(),
        seconds: Math.round((Date.now() - stageStart) / 1000),
        rolls,
        kopsCommands: calls
          .map((c) => c.argv as string[])
          .filter((argv) => argv[0] !== "version" && argv[0] !== "get"),
        invariantChecks: monitor.checks - checksBefore,
        violations: monitor.violations.slice(violationsBefore),
        ...(error !== undefined ? { error } : {}),
      });
      if (error !== undefined) {
        log(`${describeStage(stage)}: STOPPED\n${error}`);
        break;
      }
      log(`${describeStage(stage)}: done in ${Math.round((Date.now() - stageStart) / 1000)}s`);
    }
    await stopMonitor();
    stopMonitor = undefined;
    await monitor.checkOnce();
    const last = stages[stages.length - 1];
    if (last && monitor.violations.length > stages.reduce((n, s) => n + s.violations.length, 0)) {
      stages[stages.length - 1] = {
        ...last,
        violations: [
          ...last.violations,
          ...monitor.violations.slice(stages.reduce((n, s) => n + s.violations.length, 0)),
        ],
      };
    }
    const r = report(null, await finalCounts(cluster));
    writeReport(out, r, monitor.samples);
    return r;
  } catch (e) {
    if (stopMonitor) await stopMonitor();
    const r = report((e as Error).message, null);
    writeReport(out, r, monitor.samples);
    return r;
  } finally {
    if (!opts.keepCluster) await cluster.delete();
    else log(`cluster: kept; KUBECONFIG=${cluster.kubeconfig}`);
  }
}
