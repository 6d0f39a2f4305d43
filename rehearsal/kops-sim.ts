/**
 * A kops SIMULATOR for rehearsals: it implements the kops commands cni-migration runs, against a
 * state-store folder (`--state file:///PATH`) and a simulated (kwok) cluster, and nothing else.
 * It is not kops and never talks to a cloud:
 *
 * - `version`; `get cluster|instancegroups|all -o yaml`; `replace -f FILE`;
 * - `update cluster [--yes]`: with `--yes` the current specs become the groups' launch specs;
 * - `rolling-update cluster [--instance-group G]... [--instance-group-roles R]... [--yes]`:
 *   replaces the nodes whose launch spec is out of date, `maxUnavailable` at a time (from
 *   `spec.rollingUpdate`, default 1): drain by eviction, delete the node, create a new one
 *   labelled from the group's launch spec as kops-controller would, with a kube-proxy mirror pod
 *   only while the cluster enables kube-proxy; then validate `--validate-count` times within
 *   `--validation-timeout`;
 * - `validate cluster`: fails on a NotReady node, a pending or unready system-node-critical or
 *   system-cluster-critical pod, or a DaemonSet with fewer ready pods than nodes it selects.
 */
import * as fs from "node:fs";
import * as YAML from "yaml";
import { FROM_CACHE, Kube, connectTo, listAllNodes } from "../cli/kube";
import { durationSeconds } from "../lib/config";
import { clusterFacts, groupRef, parseKopsObjects } from "../lib/kops";
import { INSTANCE_GROUP_LABEL } from "../lib/labels";
import { ClusterObjects, ClusterSource, watchCluster } from "./cluster-watch";
import { createNode, deleteNode, drainNode } from "./sim-nodes";
import { SimState } from "./sim-state";

export const SIM_KOPS_VERSION = "1.33.2";

type Out = (line: string) => void;

class UsageError extends Error {}

interface Args {
  readonly words: string[];
  readonly flags: Map<string, string[]>;
}

const BOOLEAN_FLAGS = new Set(["--yes", "-y", "--force", "--cloudonly"]);

function parseArgs(argv: readonly string[]): Args {
  const words: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("-")) {
      words.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(0, eq) : a;
    let value = eq > 0 ? a.slice(eq + 1) : "true";
    if (eq < 0 && !BOOLEAN_FLAGS.has(name)) {
      value = argv[++i] ?? "";
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { words, flags };
}

const one = (a: Args, ...names: string[]): string | undefined => {
  for (const n of names) {
    const v = a.flags.get(n);
    if (v !== undefined) return v[v.length - 1];
  }
  return undefined;
};

function stateOf(a: Args): SimState {
  const store = one(a, "--state") ?? process.env.KOPS_STATE_STORE;
  const name = one(a, "--name") ?? process.env.KOPS_CLUSTER_NAME ?? a.words[2];
  if (!store || !name)
    throw new UsageError(
      "--name and --state (or KOPS_CLUSTER_NAME, KOPS_STATE_STORE) are required",
    );
  return new SimState(store, name);
}

async function kubeOf(state: SimState): Promise<Kube> {
  return connectTo(state.meta().kubeconfig);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The cluster's nodes, pods and DaemonSets by one LIST each, from the API server's watch cache. */
export async function listCluster(kube: Kube): Promise<ClusterObjects> {
  const [nodes, pods, daemonSets] = await Promise.all([
    listAllNodes(kube, { fromCache: true }),
    kube.core.listPodForAllNamespaces(FROM_CACHE),
    kube.apps.listDaemonSetForAllNamespaces(FROM_CACHE),
  ]);
  return { nodes, pods: pods.items, daemonSets: daemonSets.items };
}

/** kops's validation rules, plus DaemonSet readiness (a real node is NotReady until its CNI runs). */
export function validationFailures(cluster: ClusterObjects): string[] {
  const failures: string[] = [];
  for (const n of cluster.nodes) {
    const ready = n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    if (!ready)
      failures.push(
        `node "${n.metadata?.name}" of role "${n.metadata?.labels?.["kubernetes.io/role"] ?? "node"}" is not ready`,
      );
  }
  for (const p of cluster.pods) {
    const pc = p.spec?.priorityClassName;
    if (pc !== "system-node-critical" && pc !== "system-cluster-critical") continue;
    if (p.metadata?.deletionTimestamp) continue;
    const ready = p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    if (p.status?.phase === "Pending")
      failures.push(`${pc} pod "${p.metadata?.namespace}/${p.metadata?.name}" is pending`);
    else if (!ready)
      failures.push(`${pc} pod "${p.metadata?.namespace}/${p.metadata?.name}" is not ready`);
  }
  for (const d of cluster.daemonSets) {
    const s = d.status;
    if (s && s.numberReady < s.desiredNumberScheduled) {
      failures.push(
        `daemonset "${d.metadata?.namespace}/${d.metadata?.name}" has ${s.numberReady} of ${s.desiredNumberScheduled} pods ready`,
      );
    }
  }
  return failures;
}

/**
 * Validates until `count` consecutive passes, half a second apart, or fails at the deadline. A
 * lost watch counts as a failed pass.
 */
async function validate(
  cluster: ClusterSource,
  count: number,
  timeoutSeconds: number,
  out: Out,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let passes = 0;
  let last: string[] = [];
  while (passes < count) {
    last = await cluster.read().then(validationFailures, (e: Error) => [e.message]);
    if (last.length === 0) passes++;
    else passes = 0;
    if (passes >= count) break;
    if (Date.now() > deadline) {
      throw new Error(
        `cluster did not pass validation within ${timeoutSeconds}s: ${last.slice(0, 5).join("; ")}` +
          (last.length > 5 ? ` and ${last.length - 5} more` : ""),
      );
    }
    await sleep(500);
  }
  out(`Cluster validated (${count} consecutive passes).`);
}

function batchSize(state: SimState, group: string, size: number): number {
  const ig = state.groups().find((g) => g.metadata.name === group);
  const pick = (o: unknown): unknown =>
    (o as { rollingUpdate?: { maxUnavailable?: unknown } } | undefined)?.rollingUpdate
      ?.maxUnavailable;
  const v = pick(ig?.spec) ?? pick(state.cluster().spec) ?? 1;
  if (typeof v === "number") return Math.max(1, v);
  const text = typeof v === "string" ? v : "1";
  const m = /^(\d+)%$/.exec(text);
  return m ? Math.max(1, Math.floor((size * Number(m[1])) / 100)) : Math.max(1, Number(text) || 1);
}

/** How many nodes of a batch the simulator replaces at once (API calls in flight). */
const REPLACE_CONCURRENCY = 64;

/** Runs `work` on every item, at most `limit` at a time; rejects with the first failure. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const ROLE_ORDER = ["bastion", "master", "controlplane", "apiserver", "node"];

async function rollingUpdate(a: Args, out: Out): Promise<void> {
  const state = stateOf(a);
  const kube = await kubeOf(state);
  const yes = a.flags.has("--yes") || a.flags.has("-y");
  const force = a.flags.has("--force");
  const named = a.flags.get("--instance-group") ?? [];
  const roles = (a.flags.get("--instance-group-roles") ?? [])
    .flatMap((r) => r.split(","))
    .map((r) => r.toLowerCase());
  const validateCount = Number(one(a, "--validate-count") ?? "2");
  const validationTimeout = durationSeconds(one(a, "--validation-timeout") ?? "15m");
  const launch = state.launchSpecs();
  const groups = state.groups().filter((g) => groupRef(g).role.toLowerCase() !== "bastion");
  for (const n of named) {
    if (!groups.some((g) => g.metadata.name === n))
      throw new UsageError(`InstanceGroup "${n}" not found`);
  }
  const selected = groups
    .filter((g) => named.length === 0 || named.includes(g.metadata.name))
    .filter((g) => roles.length === 0 || roles.includes(groupRef(g).role.toLowerCase()))
    .sort(
      (x, y) =>
        ROLE_ORDER.indexOf(groupRef(x).role.toLowerCase()) -
        ROLE_ORDER.indexOf(groupRef(y).role.toLowerCase()),
    );
  const nodes = await listAllNodes(kube);
  const plan = selected.map((g) => {
    const name = g.metadata.name;
    const members = nodes.filter((n) => n.metadata?.labels?.[INSTANCE_GROUP_LABEL] === name);
    const spec = launch[name];
    if (spec === undefined)
      throw new Error(
        `InstanceGroup "${name}" has no launch spec; run \`kops update cluster --yes\``,
      );
    const stale = members.filter(
      (n) => force || n.metadata?.annotations?.["sim.cni-migration/launch-hash"] !== spec.hash,
    );
    return { name, spec, members, stale };
  });
  out("NAME\tSTATUS\tNEEDUPDATE\tREADY\tNODES");
  for (const p of plan) {
    out(
      `${p.name}\t${p.stale.length > 0 ? "NeedsUpdate" : "Ready"}\t${p.stale.length}\t${p.members.length - p.stale.length}\t${p.members.length}`,
    );
  }
  if (!yes) {
    if (plan.some((p) => p.stale.length > 0)) out("\nMust specify --yes to rolling-update.");
    return;
  }
  if (plan.every((p) => p.stale.length === 0)) {
    out("\nNo rolling-update required.");
    return;
  }
  const facts = clusterFacts(state.cluster());
  const cluster = await watchCluster(state.meta().kubeconfig);
  try {
    for (const p of plan) {
      if (p.stale.length === 0) continue;
      await validate(cluster, 1, validationTimeout, out);
      const size = batchSize(state, p.name, p.members.length);
      out(
        `Rolling update of instance group ${p.name}: ${p.stale.length} node(s), ${size} at a time.`,
      );
      for (let i = 0; i < p.stale.length; i += size) {
        const batch = p.stale.slice(i, i + size);
        const taken = new Set((await listAllNodes(kube)).flatMap((n) => n.spec?.podCIDRs ?? []));
        // Like kops, the nodes of one batch are drained and replaced side by side.
        const replacements = batch.map((n) => {
          const name = state.nextNodeName(p.name);
          const cidr = state.allocatePodCIDR(facts.podCIDR, taken);
          taken.add(cidr);
          return { old: n.metadata?.name ?? "", name, cidr };
        });
        await inParallel(replacements, REPLACE_CONCURRENCY, async (r) => {
          const evicted = await drainNode(kube, r.old);
          out(`Draining the node: "${r.old}" (${evicted} pod(s) evicted).`);
          await deleteNode(kube, r.old);
          await createNode(kube, r.name, p.name, p.spec, r.cidr);
          out(
            `Stopped instance of "${r.old}"; new node "${r.name}" joined with podCIDR ${r.cidr}.`,
          );
        });
        logTo(a, "events.log", {
          event: "batch",
          instanceGroup: p.name,
          nodesReplaced: batch.length,
        });
        out(
          `Validating the cluster after ${Math.min(i + size, p.stale.length)} of ${p.stale.length} node(s) of ${p.name}.`,
        );
        await validate(cluster, validateCount, validationTimeout, out);
      }
    }
  } finally {
    await cluster.stop();
  }
  out("Rolling update completed for cluster " + state.clusterName + "!");
}

/** Appends one JSON line to a log of the state store, when the state store is known. */
function logTo(a: Args, file: "calls.log" | "events.log", entry: Record<string, unknown>): void {
  try {
    const state = stateOf(a);
    fs.mkdirSync(state.dir, { recursive: true });
    fs.appendFileSync(
      `${state.dir}/${file}`,
      JSON.stringify({ at: new Date().toISOString(), ...entry }) + "\n",
    );
  } catch {
    // `version` and usage errors have no state store to log to.
  }
}

export async function runKops(argv: readonly string[], out: Out): Promise<number> {
  const a = parseArgs(argv);
  const [verb, noun] = a.words;
  logTo(a, "calls.log", { argv });
  try {
    if (verb === "version") {
      out(`Client version: ${SIM_KOPS_VERSION} (kops simulator of cni-migration)`);
    } else if (verb === "get") {
      const state = stateOf(a);
      const specs = state.specs();
      const pick =
        noun === "cluster" || noun === "clusters"
          ? specs.filter((o) => o.kind === "Cluster")
          : noun === "instancegroups" || noun === "ig" || noun === "instancegroup"
            ? specs.filter((o) => o.kind === "InstanceGroup")
            : noun === "all"
              ? specs
              : undefined;
      if (pick === undefined)
        throw new UsageError(`the simulator cannot get ${JSON.stringify(noun)}`);
      out(
        pick
          .map((o) => YAML.stringify(o))
          .join("---\n\n")
          .trimEnd(),
      );
    } else if (verb === "replace") {
      const state = stateOf(a);
      const file = one(a, "-f", "--filename");
      if (!file) throw new UsageError("replace needs -f FILE");
      const incoming = parseKopsObjects(fs.readFileSync(file, "utf8"), file);
      state.updateSpecs((specs) => {
        for (const obj of incoming) {
          const i = specs.findIndex(
            (o) => o.kind === obj.kind && o.metadata.name === obj.metadata.name,
          );
          if (i < 0) throw new Error(`${obj.kind} "${obj.metadata.name}" not found`);
          specs[i] = obj;
        }
      });
    } else if (verb === "update" && noun === "cluster") {
      const state = stateOf(a);
      const current = state.launchSpecs();
      const desired = state.desiredLaunchSpecs();
      const changed = Object.keys(desired).filter((g) => current[g]?.hash !== desired[g]?.hash);
      for (const g of changed) out(`InstanceGroup/${g}: launch template will change`);
      if (a.flags.has("--yes") || a.flags.has("-y")) {
        state.applyLaunchSpecs();
        out(
          changed.length > 0
            ? "Cluster changes have been applied to the cloud."
            : "No changes need to be applied.",
        );
      } else if (changed.length > 0) out("\nMust specify --yes to apply changes");
    } else if (verb === "rolling-update" && noun === "cluster") {
      await rollingUpdate(a, out);
    } else if (verb === "validate" && noun === "cluster") {
      const failures = validationFailures(await listCluster(await kubeOf(stateOf(a))));
      if (failures.length > 0) {
        out("VALIDATION ERRORS");
        for (const f of failures) out(f);
        out("\nValidation Failed");
        return 2;
      }
      out("Your cluster is ready");
    } else {
      throw new UsageError(
        `the kops simulator does not implement ${JSON.stringify(a.words.join(" "))}`,
      );
    }
    return 0;
  } catch (e) {
    process.stderr.write(`Error: ${(e as Error).message}\n`);
    return 1;
  }
}
