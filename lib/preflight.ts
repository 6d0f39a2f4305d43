/**
 * Checks made before a stage changes anything. Pure: it takes what was read from kops and the
 * cluster and returns every error and warning, each saying what is wrong and how to fix it. The
 * checks themselves are named, one each, in preflight-checks.ts.
 */
import { ChartInfo } from "./chart";
import { NodeInfo, StageRecord } from "./cluster";
import { MigrationConfig } from "./config";
import { ClusterFacts, KopsObject } from "./kops";
import { PREFLIGHT_CHECKS } from "./preflight-checks";
import { Stage, describeStage } from "./stage";
import { Values } from "./values";

export { CILIUM_TESTED_MINORS } from "./preflight-checks";

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

/** How one check came out; `skipped` when it could not run (e.g. no AWS credentials). */
export type CheckStatus = "pass" | "warn" | "fail" | "skipped";

/** One thing a check found wrong. */
export interface Finding {
  readonly severity: "warn" | "fail";
  /** The whole message, fix included, as the program reports it. */
  readonly message: string;
  /** What is wrong, for the preflight table. */
  readonly problem: string;
  /** How to fix it, for the preflight table. */
  readonly fix: string;
}

/**
 * A named check. It returns its findings, or when it finds nothing a short note of what it saw
 * (which passed).
 */
export interface PreflightCheck {
  /** A stable kebab-case name, e.g. `cilium-pool`. */
  readonly id: string;
  /** What the check makes sure of, for the table. */
  readonly title: string;
  run(input: PreflightInput): Finding[] | string;
}

export interface CheckResult {
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was seen when it passed, or why it was skipped; empty otherwise. */
  readonly note: string;
  readonly findings: readonly Finding[];
}

/** The status of a check from its findings: fail over warn over pass. */
export function checkStatus(findings: readonly Finding[]): CheckStatus {
  if (findings.some((f) => f.severity === "fail")) return "fail";
  return findings.length > 0 ? "warn" : "pass";
}

/** Runs one check. */
export function runCheck(check: PreflightCheck, input: PreflightInput): CheckResult {
  const out = check.run(input);
  const findings = typeof out === "string" ? [] : out;
  return {
    id: check.id,
    title: check.title,
    status: checkStatus(findings),
    note: typeof out === "string" ? out : "",
    findings,
  };
}

/** Runs every check of the program's preflight, in order. */
export function runPreflightChecks(input: PreflightInput): CheckResult[] {
  return PREFLIGHT_CHECKS.map((c) => runCheck(c, input));
}

/** Every error and warning of the program's preflight, in the order of the checks. */
export function preflight(input: PreflightInput): PreflightResult {
  const findings = runPreflightChecks(input).flatMap((r) => r.findings);
  return {
    errors: findings.filter((f) => f.severity === "fail").map((f) => f.message),
    warnings: findings.filter((f) => f.severity === "warn").map((f) => f.message),
  };
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
