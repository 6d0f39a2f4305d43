/**
 * `cni-migration promote` end to end on one simulated cluster (kwok + the kops simulator), driven
 * through the CLI and through lib/promote-run.ts as the rehearsal does: stage 0 and 1 by the
 * command, a skipped stage and a stack that does not hold the cluster refused, a preview that
 * moves nothing, a promotion aborted during `up` and re-run, a rollback from 2 to 1, and a gate
 * that stops on a node left behind. The 0 -> 4 run with every gate is the rehearsal's e2e.
 */
import { expect } from "chai";
import * as automation from "@pulumi/pulumi/automation";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEFAULT_POLICY_PACK } from "../../cli/promote";
import { kubeLister } from "../../lib/cluster-read";
import { main } from "../../lib/main";
import { PromotionEntry, PromotionRefused, historyEntries } from "../../lib/promote";
import { PromoteResult, PromotionFailed, promote } from "../../lib/promote-run";
import { heldUrns, stageStack } from "../../lib/stacks";
import { ALL_STAGES, Stage } from "../../lib/stage";
import { stageConfig } from "../../rehearsal/rehearse";
import { SimCluster, readSpecFile, seedCluster, startCluster } from "../../rehearsal/sim-cluster";
import { createNode } from "../../rehearsal/sim-nodes";
import { SimState } from "../../rehearsal/sim-state";
import { PROJECT_ROOT, pulumiEnv, toolchainEnv } from "../../rehearsal/toolchain";
import { specFile } from "./support";

const log = (line: string): void => void process.stdout.write(`      ${line}\n`);

describe("cni-migration promote on a simulated cluster", function () {
  this.timeout(40 * 60 * 1000);
  let out: string;
  let cluster: SimCluster;
  let state: SimState;
  let env: NodeJS.ProcessEnv;
  let ws: automation.LocalWorkspace;
  let workDir: string;

  /** The CLI as a user runs it; resolves to its exit code and output. */
  function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn("node", [path.join(PROJECT_ROOT, "bin", "cni-migration"), ...args], {
        env: { ...env, GITHUB_ACTOR: "e2e" },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }
  const common = (): string[] => ["--yes", "--cwd", workDir, "--kubeconfig", cluster.kubeconfig];

  /** Promotes in this process, as the rehearsal does. */
  function promoteTo(
    to: Stage,
    extra: { preview?: boolean; signal?: AbortSignal; gateWaitSeconds?: number } = {},
  ): Promise<PromoteResult> {
    return promote(
      {
        to,
        preview: extra.preview === true,
        yes: true,
        stackPrefix: "",
        minSoakSeconds: 0,
        gateWaitSeconds: extra.gateWaitSeconds ?? 120,
        timeoutSeconds: 300,
        kubeconfig: cluster.kubeconfig,
        policyPacks: [DEFAULT_POLICY_PACK],
        who: "e2e",
      },
      {
        workspace: ws,
        env,
        program: (assumeHolder) => () => main({ assumeHolder }),
        lister: () => kubeLister({ kubeconfig: cluster.kubeconfig }),
        log,
        confirm: () => Promise.resolve(true),
        signal: extra.signal,
      },
    );
  }

  async function holders(): Promise<string[]> {
    const held: string[] = [];
    for (const s of ALL_STAGES) {
      const stack = await automation.Stack.select(stageStack(s), ws);
      if ((await heldUrns(stack)).length > 0) held.push(stack.name);
    }
    return held;
  }

  async function record(): Promise<Record<string, string> | undefined> {
    const cm = await cluster.kube.core.readNamespacedConfigMap({
      name: "cni-migration-stage",
      namespace: "kube-system",
    });
    return { stage: cm.data?.stage ?? "", stack: cm.data?.stack ?? "" };
  }

  async function history(): Promise<PromotionEntry[]> {
    const cm = await cluster.kube.core.readNamespacedConfigMap({
      name: "cni-migration-history",
      namespace: "kube-system",
    });
    return historyEntries(cm.data ?? {});
  }

  async function refusal(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (e) {
      expect(e).to.be.instanceOf(PromotionRefused);
      return (e as Error).message;
    }
    throw new Error("expected the promotion to be refused");
  }

  before(async () => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-promote-"));
    const specs = readSpecFile(specFile(() => undefined));
    const base = toolchainEnv(log);
    const clusterName = specs.find((o) => o.kind === "Cluster")?.metadata.name ?? "";
    const stateStore = `file://${path.join(out, "kops-state")}`;
    cluster = await startCluster(`cnip-${process.pid}`, out, base);
    env = pulumiEnv(base, out, cluster.kubeconfig);
    process.env.KUBECONFIG = cluster.kubeconfig;
    process.env.PATH = env.PATH;
    state = new SimState(stateStore, clusterName);
    state.init(specs, { kubeconfig: cluster.kubeconfig });
    await seedCluster(cluster, state, 1, { ...base, KUBECONFIG: cluster.kubeconfig });
    workDir = path.join(out, "pulumi");
    fs.mkdirSync(workDir, { recursive: true });
    fs.mkdirSync(path.join(out, "pulumi-state"), { recursive: true });
    ws = await automation.LocalWorkspace.create({
      workDir,
      program: () => main(),
      envVars: env as Record<string, string>,
      projectSettings: {
        name: "cni-migration",
        runtime: "nodejs",
        backend: { url: env.PULUMI_BACKEND_URL },
      },
    });
    for (const s of ALL_STAGES) {
      const stack = await automation.Stack.createOrSelect(stageStack(s), ws);
      await stack.setAllConfig(stageConfig(s, clusterName, stateStore, {}));
    }
  });

  after(async () => {
    if (cluster) await cluster.delete();
  });

  it("refuses stage 1 before stage 0, through the command, changing nothing", async () => {
    const r = await cli(["promote", "--to", "1", ...common()]);
    expect(r.code).to.equal(1);
    expect(r.stderr.trim().split("\n").pop()).to.equal(
      "cni-migration: cannot promote to stage 1 (dual, canal primary): the cluster has no " +
        "migration record, so it has not been through stage 0 (prepare); apply stage 0 first.",
    );
    expect(await holders()).to.deep.equal([]);
  });

  it("promotes to stage 0 and then 1 with the command, recording each promotion", async () => {
    for (const to of ["0", "1"]) {
      const r = await cli([
        "promote",
        "--to",
        to,
        "--gate-wait",
        "2m",
        "--timeout",
        "5m",
        ...common(),
      ]);
      expect(r.code, r.stderr).to.equal(0);
    }
    expect(await holders()).to.deep.equal(["stage1"]);
    expect(await record()).to.deep.equal({ stage: "1", stack: "stage1" });
    const h = await history();
    expect(h.map((e) => [e.stage, e.stack, e.from, e.by, e.kind])).to.deep.equal([
      [0, "stage0", null, "e2e", "start"],
      [1, "stage1", "stage0", "e2e", "forward"],
    ]);
    expect(h.every((e) => typeof e.update === "number" && e.update > 0)).to.equal(true);
  });

  it("refuses `up` on a stack that does not hold the cluster, naming the promotion", async () => {
    const stage2 = await automation.Stack.select("stage2", ws);
    let message = "";
    try {
      await stage2.up({ color: "never" });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.contain(
      "the cluster is held by stack `stage1` at stage 1 (dual, canal primary); stack `stage2` " +
        "does not hold it and must not change it.",
    );
    expect(message).to.contain("Move the cluster here with `cni-migration promote --to 2`.");
    expect(await holders()).to.deep.equal(["stage1"]);
  });

  it("refuses a skipped stage", async () => {
    expect(await refusal(promoteTo(Stage.CiliumKpr))).to.equal(
      "cannot move from stage 1 (dual, canal primary) to stage 3 (cilium + KPR): stages are " +
        "applied one at a time and stage 1 (dual, canal primary) is applied; the next stage is " +
        "stage 2 (dual, cilium primary).",
    );
  });

  it("previews 1 -> 2 as an update of the moved state, under the policy pack, moving nothing", async () => {
    const r = await promoteTo(Stage.DualCiliumPrimary, { preview: true });
    // THEN the diff is the transition: labels and values updated, steps replaced, nothing created
    expect(r.changes).to.deep.equal({ same: 18, update: 2, replace: 6 });
    fs.writeFileSync(path.join(out, "preview-stage2.txt"), r.preview ?? "");
    expect(r.preview).to.contain("Previewing update (stage2)");
    expect(r.preview).to.contain('~ node-role.kubernetes.io/cni-priority: "canal" => "cilium"');
    expect(r.preview, r.preview).to.match(/Policy Packs run:\n.*\n\s+cni-migration\|local\|/);
    expect(await holders()).to.deep.equal(["stage1"]);
    expect(await record()).to.deep.equal({ stage: "1", stack: "stage1" });
  });

  it("finishes a promotion aborted during up when it is run again, one stack holding", async () => {
    const abort = new AbortController();
    const calls = path.join(state.dir, "calls.log");
    const before = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").length : 0;
    const watch = setInterval(() => {
      const text = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").slice(before) : "";
      if (text.includes("rolling-update")) abort.abort();
    }, 200);
    let failed: unknown;
    try {
      await promoteTo(Stage.DualCiliumPrimary, { signal: abort.signal });
    } catch (e) {
      failed = e;
    } finally {
      clearInterval(watch);
    }
    expect(abort.signal.aborted).to.equal(true);
    expect(failed).to.be.instanceOf(PromotionFailed);
    expect(await holders()).to.deep.equal(["stage2"]);
    expect(await record()).to.deep.include({ stack: "stage2" });
    const again = await promoteTo(Stage.DualCiliumPrimary);
    expect(again.plan.kind).to.equal("resume");
    expect(await holders()).to.deep.equal(["stage2"]);
    expect(await record()).to.deep.equal({ stage: "2", stack: "stage2" });
  });

  it("rolls back from stage 2 to 1", async () => {
    const r = await promoteTo(Stage.DualCanalPrimary);
    expect(r.plan.kind).to.equal("back");
    expect(r.plan.transition.reversible).to.equal(true);
    expect(await holders()).to.deep.equal(["stage1"]);
    expect(await record()).to.deep.equal({ stage: "1", stack: "stage1" });
    expect((await history()).map((e) => [e.stage, e.kind])).to.deep.equal([
      [0, "start"],
      [1, "forward"],
      [2, "resume"],
      [1, "back"],
    ]);
  });

  it("stops at the gate while a node is left in the previous stage's state, naming it", async () => {
    const spec = state.launchSpecs().nodes;
    if (spec === undefined) throw new Error("the fixture has no `nodes` group");
    const labels = { "node-role.kubernetes.io/canal": "true" };
    await createNode(
      cluster.kube,
      "nodes-left-behind",
      "nodes",
      { ...spec, nodeLabels: labels, kubeProxy: true },
      "100.96.200.0/24",
    );
    try {
      // GIVEN the node runs canal (its DaemonSet pod) and kube-proxy, as a stage 0 node does
      for (let i = 0; i < 120; i++) {
        const pods = await cluster.kube.core.listNamespacedPod({
          namespace: "kube-system",
          fieldSelector: "spec.nodeName=nodes-left-behind",
        });
        if (
          pods.items.some(
            (p) => p.metadata?.labels?.["k8s-app"] === "canal" && p.status?.phase === "Running",
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const message = await refusal(promoteTo(Stage.DualCiliumPrimary, { gateWaitSeconds: 0 }));
      expect(message).to.match(
        /^not promoting to stage 2 \(dual, cilium primary\): stage 1 \(dual, canal primary\) has not settled: 1 node is not yet dual, canal primary as stage 1 \(dual, canal primary\) requires: nodes-left-behind \(canal only\)$/,
      );
      expect(await holders()).to.deep.equal(["stage1"]);
    } finally {
      await cluster.kube.core.deleteNode({ name: "nodes-left-behind" });
    }
  });
});
