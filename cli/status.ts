/**
 * `cni-migration status`: reads the cluster once (or every few seconds with `--watch`) and shows
 * where the migration stands. Exit codes: 0 settled, 1 a problem, 2 blocked or rolling, 3 the
 * cluster could not be read.
 */
import Ajv from "ajv";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseStageRecord } from "../lib/cluster";
import { Lister, kubeLister, readCluster } from "../lib/cluster-read";
import { ingressGroupsOf, readStackConfig, stackConfigPath } from "../lib/stack-config";
import { EXIT_CODES, StatusReport, buildStatus } from "../lib/status";
import { renderStatus } from "./status-render";

export const STATUS_SCHEMA_FILE = path.join(__dirname, "..", "schemas", "status.schema.json");

export interface StatusOptions {
  readonly context?: string;
  readonly json: boolean;
  readonly watch: boolean;
  /** Seconds between reads with `--watch`. */
  readonly interval: number;
  /** Ingress groups given on the command line; else read from the holding stack's config file. */
  readonly ingress: readonly string[];
  /** Where the `Pulumi.<stack>.yaml` files are. */
  readonly projectDir: string;
}

export interface StatusIo {
  readonly write: (text: string) => void;
  readonly writeError: (text: string) => void;
  /** Whether the output is a terminal, so `--watch` clears the screen between reads. */
  readonly tty: boolean;
  readonly lister: () => Promise<Lister>;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** Stops `--watch` after this many reads (tests); unlimited when undefined. */
  readonly maxReads?: number;
  /** Set by a signal handler to stop `--watch` after the current read. */
  readonly stopped?: () => boolean;
}

/** Validates reports against schemas/status.schema.json; returns the errors, none when valid. */
export function statusSchemaErrors(report: unknown): string[] {
  const ajv = new Ajv({ allErrors: true, strict: true });
  const validate = ajv.compile(JSON.parse(fs.readFileSync(STATUS_SCHEMA_FILE, "utf8")) as object);
  if (validate(report)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`.trim());
}

function ingressGroups(opts: StatusOptions, stack: string | undefined): string[] {
  if (opts.ingress.length > 0 || stack === undefined) return [...opts.ingress];
  return ingressGroupsOf(readStackConfig(stackConfigPath(opts.projectDir, stack)));
}

/** One read of the cluster into a report; the stage record names the stack whose config counts. */
export async function readStatus(
  lister: Lister,
  opts: StatusOptions,
  now: () => Date,
): Promise<StatusReport> {
  const read = await readCluster(lister);
  let stack: string | undefined;
  try {
    stack = parseStageRecord(read.stageRecord && { ...read.stageRecord })?.stack;
  } catch {
    stack = undefined; // an invalid record is reported by buildStatus
  }
  return buildStatus(read, {
    readAt: now(),
    context: lister.context,
    ingressGroups: ingressGroups(opts, stack),
  });
}

function unreadable(e: unknown): string {
  return (
    `could not read the cluster: ${(e as Error).message}. Check the kubeconfig context ` +
    `(--context, KUBECONFIG, \`kubectl config current-context\`) and that the API server answers.`
  );
}

/** Runs `status`; resolves to the exit code of the last read. */
export async function runStatus(opts: StatusOptions, io: StatusIo): Promise<number> {
  let lister: Lister;
  try {
    lister = await io.lister();
  } catch (e) {
    io.writeError(`cni-migration: ${unreadable(e)}\n`);
    return EXIT_CODES.unreadable;
  }
  let code: number = EXIT_CODES.unreadable;
  for (let reads = 1; ; reads++) {
    let text: string;
    try {
      const report = await readStatus(lister, opts, io.now);
      code = report.exitCode;
      text = opts.json
        ? `${JSON.stringify(report, null, opts.watch ? undefined : 2)}\n`
        : `${renderStatus(report).join("\n")}\n`;
    } catch (e) {
      code = EXIT_CODES.unreadable;
      if (!opts.watch) {
        io.writeError(`cni-migration: ${unreadable(e)}\n`);
        return code;
      }
      text = opts.json
        ? `${JSON.stringify({ error: unreadable(e), exitCode: code })}\n`
        : `${io.now().toISOString()}: ${unreadable(e)}\n`;
    }
    if (opts.watch && !opts.json && io.tty) io.write("\x1b[2J\x1b[H");
    io.write(text);
    if (!opts.watch || reads === io.maxReads || io.stopped?.() === true) return code;
    await io.sleep(opts.interval * 1000);
    if (io.stopped?.() === true) return code;
  }
}

/** The real terminal, cluster and clock. */
export function processIo(opts: { context?: string }): StatusIo & { stop: () => void } {
  let stopped = false;
  let wake: (() => void) | undefined;
  return {
    write: (t) => void process.stdout.write(t),
    writeError: (t) => void process.stderr.write(t),
    tty: process.stdout.isTTY === true,
    lister: () => kubeLister({ context: opts.context }),
    now: () => new Date(),
    sleep: (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    stopped: () => stopped,
    stop: () => {
      stopped = true;
      wake?.();
    },
  };
}
