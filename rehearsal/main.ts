/**
 * `npm run rehearse`: the whole migration against a simulated copy of a kops cluster.
 *
 *   npm run rehearse -- [--cluster FILE] [--nodes-per-ig N] [--out DIR] [--config KEY=VALUE]...
 */
import { Command, InvalidArgumentError } from "commander";
import * as path from "node:path";
import { rehearse } from "./rehearse";
import { PROJECT_ROOT } from "./toolchain";

const DEFAULT_CLUSTER = path.resolve(
  PROJECT_ROOT,
  "..",
  "shared",
  "fixtures",
  "kops",
  "privatecanal",
  "cluster.yaml",
);

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`${JSON.stringify(v)} is not a whole number of at least 1.`);
  return n;
}

function keyValue(v: string, prev: Record<string, unknown>): Record<string, unknown> {
  const i = v.indexOf("=");
  if (i < 1) {
    throw new InvalidArgumentError(
      `${JSON.stringify(v)} is not KEY=VALUE; e.g. --config cilium.podCIDR=100.72.0.0/13 or --config 'ingressInstanceGroups=["ingress"]'.`,
    );
  }
  const raw = v.slice(i + 1);
  let value: unknown = raw;
  try {
    value = /^[[{]/.test(raw.trim()) ? JSON.parse(raw) : raw;
  } catch {
    throw new InvalidArgumentError(
      `the value of ${v.slice(0, i)} starts like JSON but does not parse: ${raw}`,
    );
  }
  return { ...prev, [v.slice(0, i)]: value };
}

export function main(argv: string[]): void {
  const program = new Command("rehearse")
    .description(
      "Rehearse the Canal to Cilium migration, stages 0 to 4, on a simulated copy of a kops cluster.",
    )
    .option("--cluster <file>", "`kops get all -o yaml` of the cluster", DEFAULT_CLUSTER)
    .option("--nodes-per-ig <n>", "simulated nodes per ordinary instance group", positive, 3)
    .option("--out <dir>", "where the reports go", path.join(PROJECT_ROOT, ".rehearsal", "out"))
    .option(
      "--config <key=value>",
      "stack config to try (cni-migration namespace; repeatable)",
      keyValue,
      {},
    )
    .option("--keep-cluster", "leave the simulated cluster running afterwards", false)
    .action(
      async (o: {
        cluster: string;
        nodesPerIg: number;
        out: string;
        config: Record<string, unknown>;
        keepCluster: boolean;
      }) => {
        const t0 = Date.now();
        const log = (line: string): void => {
          process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)}s] ${line}\n`);
        };
        const report = await rehearse(
          {
            clusterFile: path.resolve(o.cluster),
            nodesPerIg: o.nodesPerIg,
            out: o.out,
            config: o.config,
            keepCluster: o.keepCluster,
          },
          log,
        );
        const violations = report.stages.reduce((n, s) => n + s.violations.length, 0);
        log(
          `verdict: ${report.verdict} (${violations} violations, ${report.stages.length} stages); reports in ${path.resolve(o.out)}`,
        );
        if (report.error) log(`error: ${report.error}`);
        process.exitCode = report.verdict === "pass" ? 0 : 1;
      },
    );
  program.parseAsync(argv).catch((e: unknown) => {
    process.stderr.write(`rehearse: ${(e as Error).message}\n`);
    process.exitCode = 2;
  });
}
