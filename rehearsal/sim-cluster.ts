/**
 * The simulated cluster of a rehearsal: a kwok control plane on loopback, nodes for every
 * non-bastion instance group of the kops spec, kops's own Canal manifest applied server-side
 * with field manager `kops` (as kops's addon manager does), and the CRDs cilium-operator would
 * register.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Kube, connectTo } from "../cli/kube";
import { runCommand as run } from "../lib/exec";
import { KopsObject, clusterFacts, groupRef, parseKopsObjects } from "../lib/kops";
import { groupKind } from "../lib/plan";
import { createNode } from "./sim-nodes";
import { SimState } from "./sim-state";

export const FIXTURES = path.resolve(__dirname, "..", "..", "shared", "fixtures");
export const CANAL_MANIFEST = path.join(
  FIXTURES,
  "kops",
  "privatecanal",
  "canal-addon-k8s-1.25.yaml",
);
export const CILIUM_CRDS = [
  path.join(FIXTURES, "crds", "ciliumnodeconfigs.cilium.io.yaml"),
  path.join(__dirname, "crds", "ciliumclusterwidenetworkpolicies.cilium.io.yaml"),
];

export interface SimCluster {
  readonly name: string;
  readonly kubeconfig: string;
  readonly kube: Kube;
  delete(): Promise<void>;
}

/** Starts a kwok cluster named `name` with the local binaries of the toolchain. */
export async function startCluster(
  name: string,
  workDir: string,
  env: NodeJS.ProcessEnv,
): Promise<SimCluster> {
  const kwokEnv = { ...env, KWOK_WORKDIR: path.join(workDir, "kwok") };
  const config = path.join(__dirname, "kwokctl.yaml");
  await run(
    "kwokctl",
    ["create", "cluster", "--name", name, "--config", config, "--wait", "120s"],
    kwokEnv,
  );
  const kubeconfig = path.join(workDir, "kubeconfig");
  fs.writeFileSync(
    kubeconfig,
    await run("kwokctl", ["get", "kubeconfig", "--name", name], kwokEnv),
  );
  return {
    name,
    kubeconfig,
    kube: await connectTo(kubeconfig),
    delete: async () => {
      await run("kwokctl", ["delete", "cluster", "--name", name], kwokEnv);
    },
  };
}

/** Reads a `kops get all -o yaml` file, refusing one without a Cluster or instance groups. */
export function readSpecFile(file: string): KopsObject[] {
  if (!fs.existsSync(file)) {
    throw new Error(
      `--cluster ${file} does not exist; give the output of \`kops get all -o yaml\`.`,
    );
  }
  const objects = parseKopsObjects(fs.readFileSync(file, "utf8"), file);
  if (
    !objects.some((o) => o.kind === "Cluster") ||
    !objects.some((o) => o.kind === "InstanceGroup")
  ) {
    throw new Error(
      `${file} holds no Cluster and InstanceGroups; give the output of \`kops get all -o yaml\`.`,
    );
  }
  return objects;
}

/**
 * Seeds the cluster: `nodesPerGroup` nodes for each ordinary group (control-plane groups keep
 * their minSize, at least 1), labelled from the group's spec as kops labels them, each with a
 * kube-proxy mirror pod; then kops's canal manifest and the Cilium CRDs.
 */
export async function seedCluster(
  cluster: SimCluster,
  state: SimState,
  nodesPerGroup: number,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const facts = clusterFacts(state.cluster());
  const launch = state.launchSpecs();
  const taken = new Set<string>();
  const creations: Promise<void>[] = [];
  for (const ig of state.groups()) {
    const ref = groupRef(ig);
    const kind = groupKind(ref, []);
    if (kind === "bastion") continue;
    const spec = launch[ref.name];
    if (spec === undefined) continue;
    const count =
      kind === "control-plane" ? Math.max(1, Number(ig.spec.minSize ?? 1)) : nodesPerGroup;
    for (let i = 0; i < count; i++) {
      const cidr = state.allocatePodCIDR(facts.podCIDR, taken);
      taken.add(cidr);
      creations.push(createNode(cluster.kube, state.nextNodeName(ref.name), ref.name, spec, cidr));
      if (creations.length >= 25) await Promise.all(creations.splice(0));
    }
  }
  await Promise.all(creations);
  const kubectl = ["--kubeconfig", cluster.kubeconfig];
  await run(
    "kubectl",
    [
      ...kubectl,
      "apply",
      "--server-side",
      "--field-manager=kops",
      "--force-conflicts",
      "-f",
      CANAL_MANIFEST,
    ],
    env,
  );
  for (const crd of CILIUM_CRDS) {
    await run(
      "kubectl",
      [...kubectl, "apply", "--server-side", "--field-manager=cilium-operator", "-f", crd],
      env,
    );
  }
  await run(
    "kubectl",
    [...kubectl, "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"],
    env,
  );
  return taken.size;
}
