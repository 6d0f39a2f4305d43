/** The text form of `cni-migration status`: tables and, during a roll, one progress bar a group. */
import * as cliProgress from "cli-progress";
import { NODE_STATES, NODE_STATE_TITLES, NodeState } from "../lib/node-state";
import { GroupStatus, StatusReport, describeHolder } from "../lib/status";

/** Short column titles of the node states. */
const STATE_COLUMNS: Record<NodeState, string> = {
  "canal-only": "CANAL",
  "dual-canal-primary": "DUAL/CANAL",
  "dual-cilium-primary": "DUAL/CILIUM",
  "cilium-only": "CILIUM",
  "cilium-kpr": "CILIUM+KPR",
  broken: "BROKEN",
};

/** Pads columns to a common width; `align` has one letter a column, `l` or `r` (the default). */
export function table(rows: readonly (readonly string[])[], align = "l"): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((row) =>
    row
      .map((c, i) => (align[i] === "l" ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

const BAR_SIZE = 30;
const barOptions = {
  format: "[{bar}] {value}/{total} done, {left} left, ETA {eta_text}",
  barsize: BAR_SIZE,
  barCompleteString: "=".repeat(BAR_SIZE),
  barIncompleteString: "-".repeat(BAR_SIZE),
  barGlue: "",
  autopaddingChar: "0",
};

/** One progress line of a rolling group, e.g. `[=====-----] 3/6 done, 3 left, ETA 04m00s`. */
export function progressLine(g: GroupStatus): string {
  const eta =
    g.etaSeconds === null
      ? "unknown"
      : cliProgress.Format.TimeFormat(g.etaSeconds, barOptions as cliProgress.Options, 1);
  return cliProgress.Format.Formatter(
    barOptions as cliProgress.Options,
    {
      progress: g.nodes === 0 ? 0 : g.done / g.nodes,
      value: g.done,
      total: g.nodes,
      eta: g.etaSeconds ?? 0,
      startTime: 0,
      stopTime: 0,
      maxWidth: 200,
    } as unknown as cliProgress.Params,
    { left: g.left, eta_text: eta },
  );
}

const groupName = (name: string): string => (name === "" ? "(no group)" : name);

/** The whole status as lines of text. */
export function renderStatus(r: StatusReport): string[] {
  const out: string[] = [];
  out.push(`cluster: context ${r.context ?? "(unknown)"}, read at ${r.readAt}`);
  out.push(`stage:   ${describeHolder(r)}`);
  if (r.nextPromotion !== null) {
    const state = r.blockers.length + r.problems.length === 0 ? "ready" : "blocked";
    out.push(`next:    stage ${r.nextPromotion.to} with \`${r.nextPromotion.command}\` (${state})`);
  } else {
    out.push("next:    none, the migration is complete");
  }
  out.push(`verdict: ${r.verdict}`);
  const list = (title: string, items: readonly string[]): void => {
    if (items.length === 0) return;
    out.push("", title);
    for (const i of items) out.push(`  - ${i}`);
  };
  list("PROBLEMS", r.problems);
  list(r.nextPromotion === null ? "NOT SETTLED" : "BLOCKING THE NEXT PROMOTION", r.blockers);

  out.push("");
  const header = ["INSTANCE GROUP", "NODES", ...NODE_STATES.map((s) => STATE_COLUMNS[s]), "TARGET"];
  const rows = r.instanceGroups.map((g) => [
    groupName(g.name),
    String(g.nodes),
    ...NODE_STATES.map((s) => String(g.byState[s])),
    NODE_STATE_TITLES[g.target],
  ]);
  const total = [
    "total",
    String(r.nodes.total),
    ...NODE_STATES.map((s) => String(r.nodes.byState[s])),
    "",
  ];
  out.push(...table([header, ...rows, total], `l${"r".repeat(NODE_STATES.length + 1)}l`));
  for (const g of r.instanceGroups.filter((x) => x.rolling)) {
    out.push(`  rolling ${groupName(g.name)}: ${progressLine(g)}`);
  }

  if (r.nodes.broken.length > 0) {
    out.push("", "BROKEN NODES");
    for (const b of r.nodes.broken) {
      out.push(`  ${b.name} (${groupName(b.instanceGroup)}): ${b.problems.join("; ")}`);
    }
  }

  out.push("");
  out.push(
    ...table(
      [
        ["DAEMONSET (kube-system)", "READY", "DESIRED", "UP-TO-DATE"],
        ...r.daemonSets.map((d) =>
          d.present
            ? [d.name, String(d.ready), String(d.desired), String(d.upToDate)]
            : [d.name, "absent", "", ""],
        ),
      ],
      "lrrr",
    ),
  );

  out.push("");
  const n = r.pods.byNetwork;
  out.push(
    ...table(
      [
        ["PODS BY PRIMARY NETWORK", "CIDR", "PODS"],
        ...r.networks.map((net) => [net.name, net.cidrs.join(", ") || "-", String(net.pods)]),
        ["host network", "", String(n.host)],
        ["no address", "", String(n.none)],
        ["in neither network", "", String(n.unknown)],
      ],
      "llr",
    ),
  );
  if (r.pods.wrongNetwork.length > 0) {
    out.push("", `PODS ON A NETWORK THEIR NODE DOES NOT INTEND (${r.pods.wrongNetwork.length})`);
    for (const p of r.pods.wrongNetwork) {
      out.push(`  ${p.namespace}/${p.name} on ${p.node}: ${p.network}, node intends ${p.intended}`);
    }
  }
  return out;
}
