/**
 * `npm run bench:status`: wall time of `cni-migration status --json` against
 * `kubectl get nodes,pods -A -o json` on one local API server holding 750 nodes and 15,000 pods,
 * median of `--runs` runs each (default 5), run alternately after one warm-up of each. The
 * cluster is a kwokctl cluster of the pinned toolchain (scripts/toolchain.sh: binary runtime,
 * every program on 127.0.0.1, nothing downloaded); it is deleted at the end. Exits 1 when status
 * takes more than 1.5 times as long as kubectl.
 *
 *   npm run bench:status -- [--nodes 750] [--pods 15000] [--runs 5] [--keep]
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  bulkCreate,
  connect,
  countPodsNotRunning,
  nodeObject,
  podObjects,
  supportObjects,
  waitForServiceAccounts,
} from "./status-objects";

const ROOT = path.join(__dirname, "..");
const LIMIT = 1.5;

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v <= 0) {
    throw new Error(
      `${name} is ${JSON.stringify(process.argv[i + 1])}; give a whole number above 0.`,
    );
  }
  return v;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The environment of the pinned toolchain: env.sh sourced by bash, read back. */
function toolchainEnv(): NodeJS.ProcessEnv {
  const cache =
    process.env.CNI_MIGRATION_CACHE ?? path.join(os.homedir(), ".cache", "cni-migration");
  const envSh = path.join(cache, "toolchain", "env.sh");
  if (!fs.existsSync(envSh)) {
    throw new Error(
      `${envSh} does not exist; build the toolchain first with \`scripts/toolchain.sh --only kube\`.`,
    );
  }
  const out = spawnSync("bash", ["-c", `. "${envSh}" && env -0`], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`sourcing ${envSh} failed: ${out.stderr}`);
  const env: NodeJS.ProcessEnv = {};
  for (const entry of out.stdout.split("\0")) {
    const i = entry.indexOf("=");
    if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return env;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    throw new Error(
      `\`${cmd} ${args.join(" ")}\` failed (exit ${r.status}): ${r.stderr || r.error}`,
    );
  }
  return r.stdout;
}

/** Runs a command with its output discarded (or kept), resolving to its wall time in ms. */
function timed(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  keep = false,
): Promise<{ ms: number; stdout: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ["ignore", keep ? "pipe" : "ignore", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0 && !(keep && code !== null && code <= 2)) {
        reject(new Error(`\`${cmd} ${args.join(" ")}\` failed (exit ${code}): ${stderr.trim()}`));
      } else resolve({ ms, stdout, code });
    });
  });
}

async function main(): Promise<number> {
  const nodes = flag("--nodes", 750);
  const pods = flag("--pods", 15000);
  const runs = flag("--runs", 5);
  const keep = process.argv.includes("--keep");
  const env = { ...process.env, ...toolchainEnv() };
  const name = `cni-bench-${process.pid}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-bench-"));
  const config = path.join(work, "kwokctl.yaml");
  // Every program of the control plane on loopback only.
  fs.writeFileSync(
    config,
    "apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokctlConfiguration\n" +
      "options:\n  bindAddress: 127.0.0.1\n",
  );
  const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);
  // Ctrl-C or a kill still deletes the cluster (unless --keep).
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      if (!keep) spawnSync("kwokctl", ["delete", "cluster", "--name", name], { env });
      process.exit(130);
    });
  }
  log(`creating kwokctl cluster ${name}`);
  run("kwokctl", ["create", "cluster", "--name", name, "--config", config, "--wait", "120s"], env);
  try {
    const kubeconfig = path.join(work, "kubeconfig");
    fs.writeFileSync(kubeconfig, run("kwokctl", ["get", "kubeconfig", "--name", name], env));
    const benchEnv = { ...env, KUBECONFIG: kubeconfig };
    const kube = await connect(kubeconfig);

    let t = Date.now();
    await waitForServiceAccounts(kube, ["default", "kube-system"]);
    await bulkCreate(kube, supportObjects());
    await bulkCreate(
      kube,
      Array.from({ length: nodes }, (_, i) => nodeObject(i)),
    );
    log(`${nodes} nodes in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    await bulkCreate(kube, podObjects(nodes, pods));
    log(`${pods} pods in ${((Date.now() - t) / 1000).toFixed(1)} s; waiting for kwok to run them`);
    const deadline = Date.now() + 10 * 60 * 1000;
    for (
      let left = await countPodsNotRunning(kube);
      left > 0;
      left = await countPodsNotRunning(kube)
    ) {
      if (Date.now() > deadline) throw new Error(`${left} pods still not Running after 10 minutes`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    log(`all pods Running after ${((Date.now() - t) / 1000).toFixed(1)} s`);

    const kubectl = ["get", "nodes,pods", "-A", "-o", "json"];
    const status = [path.join(ROOT, "bin", "cni-migration"), "status", "--json"];
    // One warm-up of each; its output also checks that status read everything.
    await timed("kubectl", kubectl, benchEnv);
    const warm = await timed(process.execPath, status, benchEnv, true);
    const report = JSON.parse(warm.stdout) as { nodes: { total: number }; pods: { total: number } };
    if (report.nodes.total !== nodes || report.pods.total < pods) {
      throw new Error(
        `status read ${report.nodes.total} nodes and ${report.pods.total} pods, not ${nodes} and ${pods}`,
      );
    }
    const times = { kubectl: [] as number[], status: [] as number[] };
    for (let i = 0; i < runs; i++) {
      times.kubectl.push((await timed("kubectl", kubectl, benchEnv)).ms);
      times.status.push((await timed(process.execPath, status, benchEnv, true)).ms);
      log(
        `run ${i + 1}: kubectl ${times.kubectl[i]?.toFixed(0)} ms, status ${times.status[i]?.toFixed(0)} ms`,
      );
    }
    const k = median(times.kubectl);
    const s = median(times.status);
    const ratio = s / k;
    process.stdout.write(
      `${nodes} nodes, ${pods} pods, median of ${runs}:\n` +
        `  kubectl get nodes,pods -A -o json  ${(k / 1000).toFixed(2)} s\n` +
        `  cni-migration status --json        ${(s / 1000).toFixed(2)} s  (${ratio.toFixed(2)}x, limit ${LIMIT}x)\n`,
    );
    return ratio <= LIMIT ? 0 : 1;
  } finally {
    if (keep) log(`kept cluster ${name}; delete it with \`kwokctl delete cluster --name ${name}\``);
    else {
      run("kwokctl", ["delete", "cluster", "--name", name], env);
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exitCode = 2;
  },
);
