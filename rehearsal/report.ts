/**
 * What a rehearsal leaves behind: `rehearsal-report.json` (documented in the README), a report
 * people read (`rehearsal-report.md`) and its chart of nodes by CNI state over time
 * (`nodes-by-state.svg`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { NODE_STATES, NODE_STATE_TITLES, NodeState } from "../lib/node-state";
import { describeStage } from "../lib/stage";
import { Sample, Violation } from "./monitor";

export interface RollRecord {
  readonly instanceGroup: string;
  readonly nodesReplaced: number;
}

export interface StageRecord {
  readonly stage: number;
  readonly name: string;
  readonly startedAt: string;
  readonly seconds: number;
  readonly rolls: RollRecord[];
  readonly kopsCommands: string[][];
  readonly invariantChecks: number;
  readonly violations: Violation[];
  /** Set when the stage was refused or failed; nothing after it ran. */
  readonly error?: string;
}

export interface FinalCounts {
  readonly nodes: number;
  readonly canalPods: number;
  readonly calicoKubeControllersPods: number;
  readonly multusPods: number;
  readonly ciliumAgentPods: number;
  readonly kubeProxyPods: number;
  readonly ciliumNodeConfigs: number;
  readonly ciliumClusterwideNetworkPolicies: number;
  /** Nodes with a Cilium agent and kube-proxy replacement on. */
  readonly nodesWithKpr: number;
}

export interface RehearsalReport {
  readonly verdict: "pass" | "fail";
  readonly cluster: string;
  readonly clusterFile: string;
  readonly nodesPerInstanceGroup: number;
  readonly startedAt: string;
  readonly seconds: number;
  readonly stages: StageRecord[];
  readonly final: FinalCounts | null;
  readonly error: string | null;
}

const COLOURS: Record<NodeState | "joining", string> = {
  "canal-only": "#e69f00",
  "dual-canal-primary": "#f0c75e",
  "dual-cilium-primary": "#56b4e9",
  "cilium-only": "#7fb3d5",
  "cilium-kpr": "#0072b2",
  broken: "#d55e00",
  joining: "#bbbbbb",
};
const SERIES: (NodeState | "joining")[] = [...NODE_STATES, "joining"];

/** A stacked area chart of node counts by state over the rehearsal, as SVG. */
export function nodesByStateSvg(samples: readonly Sample[]): string {
  const w = 900;
  const h = 320;
  const left = 50;
  const bottom = 40;
  const top = 20;
  const right = 260;
  if (samples.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"/>`;
  const t0 = samples[0]?.at ?? 0;
  const t1 = Math.max(t0 + 1, samples[samples.length - 1]?.at ?? 0);
  const max = Math.max(1, ...samples.map((s) => SERIES.reduce((n, k) => n + s[k], 0)));
  const x = (t: number): number => left + ((t - t0) / (t1 - t0)) * (w - left - right);
  const y = (v: number): number => h - bottom - (v / max) * (h - top - bottom);
  const parts: string[] = [];
  const base = samples.map(() => 0);
  for (const key of SERIES) {
    const upper = samples.map((s, i) => (base[i] ?? 0) + s[key]);
    if (upper.every((v, i) => v === base[i])) continue;
    const pts = [
      ...samples.map((s, i) => `${x(s.at).toFixed(1)},${y(upper[i] ?? 0).toFixed(1)}`),
      ...samples.map((s, i) => `${x(s.at).toFixed(1)},${y(base[i] ?? 0).toFixed(1)}`).reverse(),
    ];
    parts.push(
      `<polygon points="${pts.join(" ")}" fill="${COLOURS[key]}"><title>${key}</title></polygon>`,
    );
    upper.forEach((v, i) => (base[i] = v));
  }
  const stageMarks: string[] = [];
  samples.forEach((s, i) => {
    if (i === 0 || samples[i - 1]?.stage !== s.stage) {
      const sx = x(s.at).toFixed(1);
      stageMarks.push(
        `<line x1="${sx}" y1="${top}" x2="${sx}" y2="${h - bottom}" stroke="#333" stroke-dasharray="3,3"/>` +
          `<text x="${sx}" y="${top - 6}" font-size="11" font-family="sans-serif">stage ${s.stage}</text>`,
      );
    }
  });
  const legend = SERIES.map(
    (k, i) =>
      `<rect x="${w - right + 15}" y="${top + i * 20}" width="12" height="12" fill="${COLOURS[k]}"/>` +
      `<text x="${w - right + 32}" y="${top + i * 20 + 10}" font-size="11" font-family="sans-serif">${k === "joining" ? "joining" : NODE_STATE_TITLES[k]}</text>`,
  );
  const minutes = ((t1 - t0) / 60000).toFixed(1);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    ...parts,
    ...stageMarks,
    `<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="black"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="black"/>`,
    `<text x="${left - 8}" y="${y(max) + 4}" font-size="11" text-anchor="end" font-family="sans-serif">${max}</text>`,
    `<text x="${left - 8}" y="${h - bottom + 4}" font-size="11" text-anchor="end" font-family="sans-serif">0</text>`,
    `<text x="${(left + w - right) / 2}" y="${h - 10}" font-size="12" text-anchor="middle" font-family="sans-serif">time (${minutes} min); nodes by CNI state</text>`,
    ...legend,
    `</svg>`,
  ].join("\n");
}

/** The report people read. */
export function reportMarkdown(r: RehearsalReport): string {
  const lines = [
    `# Rehearsal of the Canal to Cilium migration: ${r.verdict.toUpperCase()}`,
    "",
    `Cluster \`${r.cluster}\` from \`${r.clusterFile}\`, ${r.nodesPerInstanceGroup} simulated nodes per ` +
      `instance group, started ${r.startedAt}, ${(r.seconds / 60).toFixed(1)} minutes in all.`,
    "",
    ...(r.error ? ["## Stopped", "", "```", r.error, "```", ""] : []),
    "![nodes by CNI state over time](nodes-by-state.svg)",
    "",
    "| stage | minutes | rolls (nodes replaced) | kops commands | invariant checks | violations |",
    "|---|---|---|---|---|---|",
    ...r.stages.map(
      (s) =>
        `| ${describeStage(s.stage)} | ${(s.seconds / 60).toFixed(1)} | ` +
        `${s.rolls.map((x) => `${x.instanceGroup} (${x.nodesReplaced})`).join(", ") || "none"} | ` +
        `${s.kopsCommands.length} | ${s.invariantChecks} | ${s.violations.length}${s.error ? " (refused)" : ""} |`,
    ),
    "",
  ];
  const violations = r.stages.flatMap((s) => s.violations);
  lines.push("## Violations", "");
  if (violations.length === 0) lines.push("None: every invariant held at every check.", "");
  else {
    lines.push("| invariant | node | at | detail |", "|---|---|---|---|");
    for (const v of violations)
      lines.push(`| ${v.invariant} | ${v.node} | ${v.at} | ${v.detail} |`);
    lines.push("");
  }
  if (r.final) {
    const f = r.final;
    lines.push(
      "## At the end",
      "",
      `- nodes: ${f.nodes}, of which with Cilium kube-proxy replacement: ${f.nodesWithKpr}`,
      `- pods: canal ${f.canalPods}, calico-kube-controllers ${f.calicoKubeControllersPods}, Multus ${f.multusPods}, Cilium agents ${f.ciliumAgentPods}, kube-proxy ${f.kubeProxyPods}`,
      `- CiliumNodeConfigs ${f.ciliumNodeConfigs}, CiliumClusterwideNetworkPolicies ${f.ciliumClusterwideNetworkPolicies}`,
      "",
    );
  }
  lines.push("The kops specs after each stage are in `kops-specs-after-stage-N.yaml`.", "");
  return lines.join("\n");
}

export function writeReport(
  out: string,
  report: RehearsalReport,
  samples: readonly Sample[],
): void {
  fs.writeFileSync(path.join(out, "rehearsal-report.json"), JSON.stringify(report, null, 2) + "\n");
  fs.writeFileSync(path.join(out, "rehearsal-report.md"), reportMarkdown(report));
  fs.writeFileSync(path.join(out, "nodes-by-state.svg"), nodesByStateSvg(samples));
}
