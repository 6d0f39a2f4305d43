/**
 * Checks made before a stage changes anything. Pure: it takes what was read from kops and the
 * cluster and returns every error and warning, each saying what is wrong and how to fix it.
 */
import { ChartInfo, schemaErrors, unknownValueKeys } from "./chart";
import { NamedRange, overlapping } from "./cidr";
import { NodeInfo, StageRecord } from "./cluster";
import { MigrationConfig } from "./config";
import { ClusterFacts, KopsObject, groupRef } from "./kops";
import { CANAL_LABEL, CILIUM_LABEL, PRIORITY_LABEL } from "./labels";
import { groupKind, transition } from "./plan";
import { Stage, describeStage } from "./stage";
import { Values } from "./values";

export interface PreflightInput {
  readonly config: MigrationConfig;
  readonly stackName: string;
  readonly facts: ClusterFacts;
  readonly groups: readonly KopsObject[];
  readonly kopsVersion: string;
  /** Nodes of the live cluster; undefined when the cluster could not be read. */
  readonly nodes: readonly NodeInfo[] | undefined;
  /** The cluster's stage record; `"unreadable"` when the cluster could not be read. */
  readonly record: StageRecord | undefined | "unreadable";
  readonly values: Values;
  /** The chart the values are checked against; undefined when none is at hand. */
  readonly chart: ChartInfo | undefined;
}

export interface PreflightResult {
  readonly errors: string[];
  readonly warnings: string[];
}

/** Cilium 1.18 is tested on these Kubernetes minors; others work but are outside its matrix. */
export const CILIUM_TESTED_MINORS = { min: 30, max: 33 };

function minorOf(version: string): { major: number; minor: number } | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

const MAX_LISTED = 10;
function listNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(", ");
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}

export function preflight(input: PreflightInput): PreflightResult {
  const { config, facts, stackName } = input;
  const stage = config.stage;
  const errors: string[] = [];
  const warnings: string[] = [];
  const canalPresent = stage < Stage.Complete;

  // Versions.
  const k8s = minorOf(facts.kubernetesVersion);
  if (k8s === undefined) {
    errors.push(
      `the kops cluster spec has kubernetesVersion ${JSON.stringify(facts.kubernetesVersion)}, ` +
        `which is not a version; fix spec.kubernetesVersion with \`kops edit cluster\`.`,
    );
  } else {
    if (canalPresent && (k8s.major > 1 || k8s.minor > 27)) {
      errors.push(
        `the cluster runs Kubernetes ${facts.kubernetesVersion}, but kops supports canal only up to ` +
          `Kubernetes 1.27. Migrate on 1.27 or older and upgrade Kubernetes after stage 4.`,
      );
    }
    if (k8s.minor < CILIUM_TESTED_MINORS.min || k8s.minor > CILIUM_TESTED_MINORS.max) {
      warnings.push(
        `Kubernetes ${facts.kubernetesVersion} is outside the versions Cilium ` +
          `${config.cilium.version} is tested on (1.${CILIUM_TESTED_MINORS.min}-1.` +
          `${CILIUM_TESTED_MINORS.max}); it is expected to work, but rehearse first.`,
      );
    }
  }
  const kops = minorOf(input.kopsVersion);
  if (canalPresent && kops !== undefined && (kops.major > 1 || kops.minor >= 34)) {
    errors.push(
      `kops ${input.kopsVersion} has no canal support (removed in 1.34), so it cannot manage this ` +
        `cluster while canal runs. Use kops 1.33 or older (\`cni-migration:kopsBinary\`) until stage 4.`,
    );
  }

  // Networking.
  const net = facts.networking;
  if (!(net.length === 1 && (net[0] === "canal" || net[0] === "cni"))) {
    errors.push(
      `the kops cluster spec has networking ${JSON.stringify(net)}; this migration starts from ` +
        `\`canal: {}\` (or \`cni: {}\` once stage 0 has run). Other CNIs are not supported.`,
    );
  }
  if (!facts.kubeProxyEnabled && stage < Stage.CiliumKpr) {
    errors.push(
      `the kops cluster spec has kubeProxy.enabled false in ${describeStage(stage)}; nodes need ` +
        `kube-proxy until Cilium's kube-proxy replacement runs in stage 3. Remove ` +
        `spec.kubeProxy.enabled with \`kops edit cluster\`.`,
    );
  }

  // Address ranges.
  const pool = config.cilium.podCIDR;
  const ranges: NamedRange[] = [
    { cidr: facts.podCIDR, what: "the cluster's podCIDR (kops spec.podCIDR)" },
    {
      cidr: facts.serviceClusterIPRange,
      what: "the service range (kops spec.serviceClusterIPRange)",
    },
    ...(facts.networkCIDR
      ? [{ cidr: facts.networkCIDR, what: "the VPC (kops spec.networkCIDR)" }]
      : []),
    ...(input.nodes ?? []).flatMap((n) =>
      n.podCIDRs.map((c) => ({ cidr: c, what: `node ${n.name}'s podCIDR` })),
    ),
  ];
  const clashes = overlapping(pool, ranges);
  if (clashes.length > 0) {
    errors.push(
      `\`cni-migration:cilium.podCIDR\` is ${pool}, which overlaps ` +
        `${listNames(clashes.map((c) => `${c.what} ${c.cidr}`))}. Choose a range disjoint from ` +
        `all of them, e.g. \`pulumi config set --path cilium.podCIDR 100.72.0.0/13\`.`,
    );
  }

  // Instance groups.
  const refs = input.groups.map(groupRef);
  for (const name of config.ingressInstanceGroups) {
    const g = refs.find((r) => r.name === name);
    if (g === undefined) {
      errors.push(
        `\`cni-migration:ingressInstanceGroups\` names ${JSON.stringify(name)}, which is not an ` +
          `instance group of ${facts.name}. Groups: ${refs.map((r) => r.name).join(", ")}. ` +
          `Fix the name or remove it.`,
      );
    } else if (groupKind(g, []) !== "node") {
      errors.push(
        `\`cni-migration:ingressInstanceGroups\` names ${JSON.stringify(name)}, a ${g.role} group; ` +
          `only groups of role Node can be ingress groups. Remove it from the list.`,
      );
    }
  }

  // Nodes.
  if (input.nodes === undefined) {
    warnings.push(
      `the cluster could not be read, so node podCIDRs and node labels were not checked; ` +
        `check the kubeconfig context before applying.`,
    );
  } else {
    if (stage > Stage.Prepare && stage < Stage.Complete) {
      const orphans = input.nodes.filter(
        (n) => n.labels[CANAL_LABEL] !== "true" && n.labels[CILIUM_LABEL] !== "true",
      );
      if (orphans.length > 0) {
        errors.push(
          `node${orphans.length === 1 ? "" : "s"} ${listNames(orphans.map((n) => n.name))} ` +
            `carr${orphans.length === 1 ? "ies" : "y"} neither ${CANAL_LABEL}=true nor ` +
            `${CILIUM_LABEL}=true, so no CNI runs there once canal is pinned to labelled nodes. ` +
            `Label ${orphans.length === 1 ? "it" : "them"} with \`kubectl label node NAME ` +
            `${CANAL_LABEL}=true\` (or re-apply stage 0, which labels every node).`,
        );
      }
    }
    if (stage === Stage.Complete) {
      const dependent = input.nodes.filter(
        (n) => n.labels[CANAL_LABEL] === "true" || n.labels[PRIORITY_LABEL] !== undefined,
      );
      if (dependent.length > 0) {
        errors.push(
          `node${dependent.length === 1 ? "" : "s"} ${listNames(dependent.map((n) => n.name))} ` +
            `still use${dependent.length === 1 ? "s" : ""} canal or Multus (label ${CANAL_LABEL} or ` +
            `${PRIORITY_LABEL}); deleting them now would cut those nodes off. Finish the stage 3 ` +
            `roll (\`kops rolling-update cluster --yes\`) so every node is replaced, then retry.`,
        );
      }
    }
  }

  // Cilium values.
  const values = input.values;
  const cni = values.cni as { exclusive?: unknown } | undefined;
  if (canalPresent && cni?.exclusive === true) {
    errors.push(
      `\`cni-migration:cilium.values\` sets cni.exclusive true in ${describeStage(stage)}; Cilium ` +
        `would rename Multus's and canal's CNI configs and cut dual nodes off. Remove it until stage 4.`,
    );
  }
  if (values.l7Proxy === true && canalPresent) {
    const envoy = values.envoy as { nodeSelector?: unknown } | undefined;
    if (JSON.stringify(envoy?.nodeSelector) !== JSON.stringify(values.nodeSelector)) {
      errors.push(
        `\`cni-migration:cilium.values\` turns l7Proxy on, but cilium-envoy's nodeSelector ` +
          `${JSON.stringify(envoy?.nodeSelector ?? null)} differs from the agents' ` +
          `${JSON.stringify(values.nodeSelector)}: envoy pods would stay Pending on nodes without ` +
          `an agent and block kops validation. Set cilium.values.envoy.nodeSelector to ` +
          `${JSON.stringify(values.nodeSelector)}, or leave l7Proxy false.`,
      );
    }
  }
  if (input.chart === undefined) {
    warnings.push(
      `no local copy of Cilium chart ${config.cilium.version} is at hand, so the values' keys were ` +
        `not checked; set \`cni-migration:cilium.chart\` to a chart directory or .tgz to check them.`,
    );
  } else {
    for (const k of unknownValueKeys(values, input.chart)) {
      errors.push(
        `Cilium chart ${input.chart.version} has no value \`${k}\` (from \`cni-migration:cilium.values\`` +
          ` or values/); Helm would ignore it silently. Fix the spelling or remove it.`,
      );
    }
    for (const e of schemaErrors(values, input.chart)) {
      errors.push(`the Cilium values break chart ${input.chart.version}'s schema: ${e}.`);
    }
  }

  // Stage order and ownership.
  if (input.record === "unreadable") {
    warnings.push(
      `the cluster's stage record could not be read, so the stage order was not checked.`,
    );
  } else {
    const record = input.record;
    if (record !== undefined && record.stack !== stackName) {
      errors.push(
        `the cluster is held by stack \`${record.stack}\` at ${describeStage(record.stage)}; ` +
          `stack \`${stackName}\` does not hold it and must not change it. Move the cluster here ` +
          `with \`cni-migration promote --to ${stage}\`.`,
      );
    } else {
      const t = transition(record?.stage, stage);
      if (!t.allowed) {
        errors.push(`${describeStage(stage)} cannot be applied: ${t.reason}.`);
      }
    }
  }

  return { errors, warnings };
}

/** Thrown when preflight finds errors; the message lists them all. */
export class PreflightError extends Error {
  constructor(
    readonly stage: Stage,
    readonly errors: readonly string[],
  ) {
    super(
      `preflight refused ${describeStage(stage)}; nothing was changed:\n` +
        errors.map((e) => `  - ${e}`).join("\n"),
    );
    this.name = "PreflightError";
  }
}
