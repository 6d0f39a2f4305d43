/**
 * `npm run bench:rehearsal`: wall time of a whole rehearsal, per stage, for about 50, 250 and
 * 750 simulated nodes, median of `--runs` runs each (default 3). The cluster is the fixture with
 * one control-plane node and the rest in its `nodes` group, rolled 10% at a time
 * (`spec.rollingUpdate.maxUnavailable: 10%`, as large clusters are). Writes
 * bench/results/rehearsal.json and prints a table.
 *
 *   npm run bench:rehearsal -- [--sizes 50,250,750] [--runs 3] [--resume]
 *
 * A whole benchmark takes over an hour and a half on 2 cores. `--resume` keeps the runs already
 * in bench/results/rehearsal.json (of the sizes asked for) and measures only the missing ones,
 * so an interrupted benchmark goes on where it stopped; it is only meaningful when nothing the
 * rehearsal runs has changed since those runs.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { KopsObject } from "../lib/kops";
import { rehearse } from "../rehearsal/rehearse";
import { FIXTURES } from "../rehearsal/sim-cluster";

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function clusterFile(): string {
  const objects = YAML.parseAllDocuments(
    fs.readFileSync(path.join(FIXTURES, "kops", "privatecanal", "cluster.yaml"), "utf8"),
  )
    .map((d) => d.toJS() as KopsObject | null)
    .filter((o): o is KopsObject => o !== null);
  const cluster = objects.find((o) => o.kind === "Cluster") as KopsObject;
  cluster.spec.rollingUpdate = { maxUnavailable: "10%" };
  const file = path.join(
    fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-bench-")),
    "cluster.yaml",
  );
  fs.writeFileSync(file, objects.map((o) => YAML.stringify(o)).join("---\n"));
  return file;
}

const RESULTS = path.join(__dirname, "results", "rehearsal.json");

/** The runs of `sizes` that an earlier benchmark wrote, to go on from with `--resume`. */
function earlierRuns(sizes: readonly number[]): Result[] {
  if (!fs.existsSync(RESULTS)) return [];
  const written = JSON.parse(fs.readFileSync(RESULTS, "utf8")) as { runs?: Result[] };
  return (written.runs ?? []).filter((r) => sizes.includes(r.nodes));
}

async function bench(): Promise<void> {
  const sizes = flag("--sizes", "50,250,750").split(",").map(Number);
  const runs = Number(flag("--runs", "3"));
  const file = clusterFile();
  const results: Result[] = process.argv.includes("--resume") ? earlierRuns(sizes) : [];
  for (const r of results) {
    process.stderr.write(`${r.nodes} nodes, run ${r.run}: kept from ${RESULTS} (--resume)\n`);
  }
  // Runs outside, sizes inside, and the results written after every rehearsal: an interrupted
  // benchmark still leaves every size measured as often as the others.
  for (let run = 1; run <= runs; run++) {
    for (const size of sizes) {
      if (results.some((r) => r.nodes === size && r.run === run)) continue;
      const out = fs.mkdtempSync(path.join(os.tmpdir(), `cni-migration-bench-${size}-`));
      const t0 = Date.now();
      const report = await rehearse(
        { clusterFile: file, nodesPerIg: size - 1, out, config: {} },
        (line) => process.stderr.write(`  [${size} nodes, run ${run}] ${line}\n`),
      );
      const total = (Date.now() - t0) / 1000;
      results.push({
        nodes: size,
        run,
        verdict: report.verdict,
        total,
        stages: report.stages.map((s) => s.seconds),
      });
      process.stderr.write(
        `${size} nodes, run ${run}: ${report.verdict} in ${total.toFixed(0)}s\n`,
      );
      fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
      fs.copyFileSync(
        path.join(out, "rehearsal-report.json"),
        path.join(__dirname, "results", `rehearsal-${size}-nodes-run-${run}.json`),
      );
      fs.rmSync(out, { recursive: true, force: true });
      writeResults(sizes, results);
    }
  }
  writeResults(sizes, results);
}

type Result = { nodes: number; run: number; verdict: string; total: number; stages: number[] };

function writeResults(sizes: number[], results: Result[]): void {
  const table = sizes.map((size) => {
    const rs = results.filter((r) => r.nodes === size);
    return {
      nodes: size,
      runs: rs.length,
      verdicts: rs.map((r) => r.verdict),
      medianTotalSeconds: median(rs.map((r) => r.total)),
      medianStageSeconds: [0, 1, 2, 3, 4].map((i) => median(rs.map((r) => r.stages[i] ?? NaN))),
    };
  });
  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  fs.writeFileSync(
    RESULTS,
    JSON.stringify(
      { at: new Date().toISOString(), cpus: os.cpus().length, runs: results, medians: table },
      null,
      2,
    ) + "\n",
  );
  process.stdout.write(
    "nodes | stage 0 | stage 1 | stage 2 | stage 3 | stage 4 | total (s, median)\n",
  );
  for (const t of table) {
    process.stdout.write(
      `${t.nodes} | ${t.medianStageSeconds.join(" | ")} | ${t.medianTotalSeconds.toFixed(0)}\n`,
    );
  }
}

bench().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
