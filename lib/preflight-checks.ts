/**
 * The named checks of preflight. Each reads what preflight gathered and returns pass, warn or
 * fail with its findings; a finding says what is wrong and how to fix it. The program joins the
 * failures into a PreflightError; `cni-migration preflight` prints every check as a table.
 */
import { schemaErrors, unknownValueKeys } from "./chart";
import { NamedRange, freePool, overlapping } from "./cidr";
import { groupRef } from "./kops";
import { CANAL_LABEL, CILIUM_LABEL, PRIORITY_LABEL } from "./labels";
import { groupKind, transition } from "./plan";
import type { Finding, PreflightCheck, PreflightInput } from "./preflight";
import { Stage, describeStage } from "./stage";

/** Cilium 1.18 is tested on these Kubernetes minors; others work but are outside its matrix. */
export const CILIUM_TESTED_MINORS = { min: 30, max: 33 };

function minorOf(version: string): { major: number; minor: number } | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

const MAX_LISTED = 10;
/** How to fix an overlapping pool: a free range of the same size where there is one. */
function suggestion(pool: string, nonMasquerade: string, ranges: readonly NamedRange[]): string {
  const free = freePool(pool, nonMasquerade, ranges);
  return free === undefined
    ? `Choose a range disjoint from all of them.`
    : `Choose a range disjoint from all of them, e.g. \`pulumi config set --path cilium.podCIDR ${free}\`.`;
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(", ");
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}

/** A finding whose message is the problem, a separator and the fix. */
function found(severity: Finding["severity"], problem: string, sep: string, fix: string): Finding {
  return { severity, problem, fix, message: problem + sep + fix };
}
const fail = (problem: string, sep: string, fix: string): Finding =>
  found("fail", problem, sep, fix);
const warn = (problem: string, sep: string, fix: string): Finding =>
  found("warn", problem, sep, fix);

const canalPresent = (i: PreflightInput): boolean => i.config.stage < Stage.Complete;

export const PREFLIGHT_CHECKS: readonly PreflightCheck[] = [
  {
    id: "kubernetes-version",
    title: "Kubernetes version kops runs canal on",
    run(i) {
      const v = i.facts.kubernetesVersion;
      const k8s = minorOf(v);
      if (k8s === undefined) {
        return [
          fail(
            `the kops cluster spec has kubernetesVersion ${JSON.stringify(v)}, which is not a version`,
            "; ",
            "fix spec.kubernetesVersion with `kops edit cluster`.",
          ),
        ];
      }
      if (canalPresent(i) && (k8s.major > 1 || k8s.minor > 27)) {
        return [
          fail(
            `the cluster runs Kubernetes ${v}, but kops supports canal only up to Kubernetes 1.27.`,
            " ",
            "Migrate on 1.27 or older and upgrade Kubernetes after stage 4.",
          ),
        ];
      }
      return `Kubernetes ${v}`;
    },
  },
  {
    id: "cilium-tested-versions",
    title: "Kubernetes version in Cilium's tested range",
    run(i) {
      const v = i.facts.kubernetesVersion;
      const k8s = minorOf(v);
      const { min, max } = CILIUM_TESTED_MINORS;
      if (k8s !== undefined && (k8s.minor < min || k8s.minor > max)) {
        return [
          warn(
            `Kubernetes ${v} is outside the versions Cilium ${i.config.cilium.version} is tested ` +
              `on (1.${min}-1.${max})`,
            "; ",
            "it is expected to work, but rehearse first.",
          ),
        ];
      }
      return k8s === undefined ? "no Kubernetes version to compare" : `Kubernetes ${v}`;
    },
  },
  {
    id: "kops-version",
    title: "kops version with canal support",
    run(i) {
      const kops = minorOf(i.kopsVersion);
      if (canalPresent(i) && kops !== undefined && (kops.major > 1 || kops.minor >= 34)) {
        return [
          fail(
            `kops ${i.kopsVersion} has no canal support (removed in 1.34), so it cannot manage ` +
              `this cluster while canal runs.`,
            " ",
            "Use kops 1.33 or older (`cni-migration:kopsBinary`) until stage 4.",
          ),
        ];
      }
      return `kops ${i.kopsVersion}`;
    },
  },
  {
    id: "networking",
    title: "kops networking is canal, or cni after stage 0",
    run(i) {
      const net = i.facts.networking;
      if (!(net.length === 1 && (net[0] === "canal" || net[0] === "cni"))) {
        return [
          fail(
            `the kops cluster spec has networking ${JSON.stringify(net)}; this migration starts ` +
              `from \`canal: {}\` (or \`cni: {}\` once stage 0 has run).`,
            " ",
            "Other CNIs are not supported.",
          ),
        ];
      }
      return `networking ${net[0] ?? ""}`;
    },
  },
  {
    id: "kube-proxy",
    title: "kube-proxy on until stage 3",
    run(i) {
      const stage = i.config.stage;
      if (!i.facts.kubeProxyEnabled && stage < Stage.CiliumKpr) {
        return [
          fail(
            `the kops cluster spec has kubeProxy.enabled false in ${describeStage(stage)}; nodes ` +
              `need kube-proxy until Cilium's kube-proxy replacement runs in stage 3.`,
            " ",
            "Remove spec.kubeProxy.enabled with `kops edit cluster`.",
          ),
        ];
      }
      return i.facts.kubeProxyEnabled ? "kube-proxy enabled" : "kube-proxy disabled";
    },
  },
  {
    id: "cilium-pool",
    title: "Cilium pool disjoint from every other range",
    run(i) {
      const { facts } = i;
      const pool = i.config.cilium.podCIDR;
      const ranges: NamedRange[] = [
        { cidr: facts.podCIDR, what: "the cluster's podCIDR (kops spec.podCIDR)" },
        {
          cidr: facts.serviceClusterIPRange,
          what: "the service range (kops spec.serviceClusterIPRange)",
        },
        ...(facts.networkCIDR
          ? [{ cidr: facts.networkCIDR, what: "the VPC (kops spec.networkCIDR)" }]
          : []),
        ...(i.nodes ?? []).flatMap((n) =>
          n.podCIDRs.map((c) => ({ cidr: c, what: `node ${n.name}'s podCIDR` })),
        ),
      ];
      const clashes = overlapping(pool, ranges);
      if (clashes.length > 0) {
        return [
          fail(
            `\`cni-migration:cilium.podCIDR\` is ${pool}, which overlaps ` +
              `${listNames(clashes.map((c) => `${c.what} ${c.cidr}`))}.`,
            " ",
            suggestion(pool, facts.nonMasqueradeCIDR, ranges),
          ),
        ];
      }
      return `${pool} overlaps none of ${ranges.length} ranges`;
    },
  },
  {
    id: "ingress-groups",
    title: "ingress groups exist and have role Node",
    run(i) {
      const refs = i.groups.map(groupRef);
      const out: Finding[] = [];
      const key = "`cni-migration:ingressInstanceGroups`";
      for (const name of i.config.ingressInstanceGroups) {
        const g = refs.find((r) => r.name === name);
        if (g === undefined) {
          out.push(
            fail(
              `${key} names ${JSON.stringify(name)}, which is not an instance group of ` +
                `${i.facts.name}. Groups: ${refs.map((r) => r.name).join(", ")}.`,
              " ",
              "Fix the name or remove it.",
            ),
          );
        } else if (groupKind(g, []) !== "node") {
          out.push(
            fail(
              `${key} names ${JSON.stringify(name)}, a ${g.role} group; only groups of role Node ` +
                `can be ingress groups.`,
              " ",
              "Remove it from the list.",
            ),
          );
        }
      }
      const n = i.config.ingressInstanceGroups.length;
      return out.length > 0
        ? out
        : n === 0
          ? "no ingress groups"
          : `${n} ingress group${n === 1 ? "" : "s"}`;
    },
  },
  {
    id: "node-labels",
    title: "every node labelled for the stage",
    run(i) {
      const stage = i.config.stage;
      if (i.nodes === undefined) {
        return [
          warn(
            "the cluster could not be read, so node podCIDRs and node labels were not checked",
            "; ",
            "check the kubeconfig context before applying.",
          ),
        ];
      }
      if (stage > Stage.Prepare && stage < Stage.Complete) {
        const orphans = i.nodes.filter(
          (n) => n.labels[CANAL_LABEL] !== "true" && n.labels[CILIUM_LABEL] !== "true",
        );
        if (orphans.length > 0) {
          const one = orphans.length === 1;
          return [
            fail(
              `node${one ? "" : "s"} ${listNames(orphans.map((n) => n.name))} carr${one ? "ies" : "y"} ` +
                `neither ${CANAL_LABEL}=true nor ${CILIUM_LABEL}=true, so no CNI runs there once ` +
                `canal is pinned to labelled nodes.`,
              " ",
              `Label ${one ? "it" : "them"} with \`kubectl label node NAME ${CANAL_LABEL}=true\` ` +
                `(or re-apply stage 0, which labels every node).`,
            ),
          ];
        }
      }
      if (stage === Stage.Complete) {
        const dependent = i.nodes.filter(
          (n) => n.labels[CANAL_LABEL] === "true" || n.labels[PRIORITY_LABEL] !== undefined,
        );
        if (dependent.length > 0) {
          const one = dependent.length === 1;
          return [
            fail(
              `node${one ? "" : "s"} ${listNames(dependent.map((n) => n.name))} still ` +
                `use${one ? "s" : ""} canal or Multus (label ${CANAL_LABEL} or ${PRIORITY_LABEL}); ` +
                `deleting them now would cut those nodes off.`,
              " ",
              "Finish the stage 3 roll (`kops rolling-update cluster --yes`) so every node is " +
                "replaced, then retry.",
            ),
          ];
        }
      }
      return `${i.nodes.length} node${i.nodes.length === 1 ? "" : "s"} read`;
    },
  },
  {
    id: "cni-exclusive",
    title: "cni.exclusive off while canal or Multus remain",
    run(i) {
      const cni = i.values.cni as { exclusive?: unknown } | undefined;
      if (canalPresent(i) && cni?.exclusive === true) {
        return [
          fail(
            `\`cni-migration:cilium.values\` sets cni.exclusive true in ` +
              `${describeStage(i.config.stage)}; Cilium would rename Multus's and canal's CNI ` +
              `configs and cut dual nodes off.`,
            " ",
            "Remove it until stage 4.",
          ),
        ];
      }
      return `cni.exclusive ${cni?.exclusive === true ? "true" : "false"}`;
    },
  },
  {
    id: "l7-proxy",
    title: "cilium-envoy only where agents run",
    run(i) {
      const values = i.values;
      if (values.l7Proxy === true && canalPresent(i)) {
        const envoy = values.envoy as { nodeSelector?: unknown } | undefined;
        const agents = JSON.stringify(values.nodeSelector);
        if (JSON.stringify(envoy?.nodeSelector) !== agents) {
          return [
            fail(
              `\`cni-migration:cilium.values\` turns l7Proxy on, but cilium-envoy's nodeSelector ` +
                `${JSON.stringify(envoy?.nodeSelector ?? null)} differs from the agents' ` +
                `${agents}: envoy pods would stay Pending on nodes without an agent and block ` +
                `kops validation.`,
              " ",
              `Set cilium.values.envoy.nodeSelector to ${agents}, or leave l7Proxy false.`,
            ),
          ];
        }
      }
      return values.l7Proxy === true ? "envoy follows the agents" : "l7Proxy off";
    },
  },
  {
    id: "chart-values",
    title: "every Cilium value exists in the chart",
    run(i) {
      const chart = i.chart;
      if (chart === undefined) {
        return [
          warn(
            `no local copy of Cilium chart ${i.config.cilium.version} is at hand, so the values' ` +
              `keys were not checked`,
            "; ",
            "set `cni-migration:cilium.chart` to a chart directory or .tgz to check them.",
          ),
        ];
      }
      const out: Finding[] = unknownValueKeys(i.values, chart).map((k) =>
        fail(
          `Cilium chart ${chart.version} has no value \`${k}\` (from ` +
            `\`cni-migration:cilium.values\` or values/); Helm would ignore it silently.`,
          " ",
          "Fix the spelling or remove it.",
        ),
      );
      for (const e of schemaErrors(i.values, chart)) {
        const message = `the Cilium values break chart ${chart.version}'s schema: ${e}.`;
        out.push({
          severity: "fail",
          message,
          problem: message,
          fix: "Change `cni-migration:cilium.values` to match the chart's values.schema.json.",
        });
      }
      return out.length > 0 ? out : `checked against chart ${chart.version}`;
    },
  },
  {
    id: "stage-order",
    title: "stage order and the stack holding the cluster",
    run(i) {
      const stage = i.config.stage;
      if (i.record === "unreadable") {
        const message =
          "the cluster's stage record could not be read, so the stage order was not checked.";
        return [
          {
            severity: "warn",
            message,
            problem: message,
            fix: "Check the kubeconfig context, then run preflight again.",
          },
        ];
      }
      const record = i.record;
      if (record !== undefined && record.stack !== i.stackName) {
        return [
          fail(
            `the cluster is held by stack \`${record.stack}\` at ${describeStage(record.stage)}; ` +
              `stack \`${i.stackName}\` does not hold it and must not change it.`,
            " ",
            `Move the cluster here with \`cni-migration promote --to ${stage}\`.`,
          ),
        ];
      }
      const t = transition(record?.stage, stage);
      if (!t.allowed) {
        const message = `${describeStage(stage)} cannot be applied: ${t.reason}.`;
        return [
          {
            severity: "fail",
            message,
            problem: message,
            fix:
              record === undefined
                ? "Apply stage 0 first (`pulumi up -s stage0`)."
                : `Apply the stage after ${describeStage(record.stage)} instead, one at a time.`,
          },
        ];
      }
      return t.reason;
    },
  },
];
