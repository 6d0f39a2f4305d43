/**
 * The steps the program's commands run: writing kops specs, running kops with a timeout,
 * labelling nodes, waiting for CRDs and deleting canal. Each prints what it did, line by line.
 */
import { spawn } from "node:child_process";
import { durationSeconds } from "../lib/config";
import {
  KopsCli,
  describeChanges,
  desiredClusterSpec,
  desiredInstanceGroupSpec,
} from "../lib/kops";
import { kopsConnectionFromEnv } from "../lib/kops-connection";
import { CANAL_LABEL, KUBE_SYSTEM, PRIORITY_LABEL } from "../lib/labels";
import { Stage } from "../lib/stage";
import { connect, isNotFound, listAllNodes, sleep } from "./kube";

export type Print = (line: string) => void;

/** Re-reads one kops object, changes the fields the migration owns and writes it if it differs. */
export function kopsApply(
  target: { kind: "cluster" } | { kind: "instancegroup"; name: string },
  stage: Stage,
  ingress: readonly string[],
  print: Print,
): void {
  const conn = kopsConnectionFromEnv(process.env);
  const kops = new KopsCli(conn.binary, conn.clusterName, conn.stateStore);
  let before;
  let after;
  if (target.kind === "cluster") {
    before = kops.getCluster();
    after = desiredClusterSpec(before, stage);
  } else {
    before = kops.getInstanceGroups().find((g) => g.metadata.name === target.name);
    if (before === undefined) {
      throw new Error(
        `instance group ${target.name} is not in cluster ${conn.clusterName}; it was removed ` +
          `since the preview. Run \`pulumi up\` again so the plan sees the current groups.`,
      );
    }
    after = desiredInstanceGroupSpec(before, stage, ingress);
  }
  const label = `${before.kind} ${before.metadata.name}`;
  const changes = describeChanges(before, after);
  if (changes.length === 0) {
    print(`${label}: already as stage ${stage} wants it`);
    return;
  }
  for (const c of changes) print(`${label}: ${c}`);
  kops.replace(after);
  print(`${label}: written with kops replace`);
}

/** Runs kops with `--name`/`--state` from the environment, streaming its output, with a timeout. */
export function kopsRun(args: readonly string[], timeout: string, print: Print): Promise<void> {
  const conn = kopsConnectionFromEnv(process.env);
  const argv = [...args, "--name", conn.clusterName, "--state", conn.stateStore];
  print(`$ ${conn.binary} ${argv.join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn(conn.binary, argv, { stdio: ["ignore", "inherit", "inherit"] });
    const timer = setTimeout(
      () => {
        child.kill("SIGTERM");
        reject(
          new Error(
            `\`kops ${args.slice(0, 2).join(" ")}\` did not finish within ${timeout} and was stopped. ` +
              `Look at the cluster (\`kops validate cluster\`), then run \`pulumi up\` again to resume, ` +
              `or raise \`cni-migration:rollout.timeout\`.`,
          ),
        );
      },
      durationSeconds(timeout) * 1000,
    );
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(
        new Error(`could not run ${conn.binary}: ${e.message}; set \`cni-migration:kopsBinary\`.`),
      );
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `kops ${args.slice(0, 2).join(" ")} failed (${signal ?? `exit ${code}`}); run \`pulumi up\` again to resume once fixed.`,
          ),
        );
    });
  });
}

/** Labels every node lacking `key=value`, then checks that none lacks it. */
export async function labelNodes(key: string, value: string, print: Print): Promise<void> {
  const kube = await connect();
  const nodes = await listAllNodes(kube);
  let changed = 0;
  for (const n of nodes) {
    const name = n.metadata?.name ?? "";
    if (n.metadata?.labels?.[key] === value) continue;
    await kube.core.patchNode(
      { name, body: { metadata: { labels: { [key]: value } } } },
      kube.k8s.setHeaderOptions("Content-Type", kube.k8s.PatchStrategy.MergePatch),
    );
    changed++;
  }
  const missing = (await listAllNodes(kube)).filter((n) => n.metadata?.labels?.[key] !== value);
  if (missing.length > 0) {
    throw new Error(
      `nodes ${missing.map((n) => n.metadata?.name).join(", ")} still lack ${key}=${value}; ` +
        `label them with \`kubectl label node NAME ${key}=${value}\` and run \`pulumi up\` again.`,
    );
  }
  print(`labelled ${changed} of ${nodes.length} nodes ${key}=${value}; every node has it`);
}

/** Waits until every CRD is established, or fails after `timeout`. */
export async function waitCrds(
  crds: readonly string[],
  timeout: string,
  print: Print,
): Promise<void> {
  const kube = await connect();
  const deadline = Date.now() + durationSeconds(timeout) * 1000;
  for (;;) {
    const pending: string[] = [];
    for (const name of crds) {
      try {
        const crd = await kube.ext.readCustomResourceDefinition({ name });
        const ok = crd.status?.conditions?.some(
          (c) => c.type === "Established" && c.status === "True",
        );
        if (!ok) pending.push(name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        pending.push(name);
      }
    }
    if (pending.length === 0) {
      print(`CRDs established: ${crds.join(", ")}`);
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `cilium-operator has not registered ${pending.join(", ")} within ${timeout}; check ` +
          `\`kubectl -n ${KUBE_SYSTEM} logs deploy/cilium-operator\`, then run \`pulumi up\` again.`,
      );
    }
    await sleep(2000);
  }
}

/** Deletes canal's DaemonSet and Deployment once no node carries the canal or Multus labels. */
export async function removeCanal(
  daemonSet: string,
  deployment: string,
  print: Print,
): Promise<void> {
  const kube = await connect();
  const dependent = (await listAllNodes(kube)).filter(
    (n) =>
      n.metadata?.labels?.[CANAL_LABEL] === "true" ||
      n.metadata?.labels?.[PRIORITY_LABEL] !== undefined,
  );
  if (dependent.length > 0) {
    throw new Error(
      `not deleting canal: nodes ${dependent.map((n) => n.metadata?.name).join(", ")} still use it. ` +
        `Replace them (\`kops rolling-update cluster --yes\`) and run \`pulumi up\` again.`,
    );
  }
  for (const [kind, del] of [
    [
      "DaemonSet",
      () => kube.apps.deleteNamespacedDaemonSet({ name: daemonSet, namespace: KUBE_SYSTEM }),
    ],
    [
      "Deployment",
      () => kube.apps.deleteNamespacedDeployment({ name: deployment, namespace: KUBE_SYSTEM }),
    ],
  ] as const) {
    try {
      await del();
      print(`deleted ${kind} ${KUBE_SYSTEM}/${kind === "DaemonSet" ? daemonSet : deployment}`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      print(
        `${kind} ${KUBE_SYSTEM}/${kind === "DaemonSet" ? daemonSet : deployment} was already gone`,
      );
    }
  }
}
