/**
 * Runs the program of one stage under Pulumi mocks against the fixture cluster, with kops
 * replaced by tests/support/kops-double.js and the live cluster by an in-memory reader.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { NodeInfo, StageRecord } from "../../lib/cluster";
import { parseConfig } from "../../lib/config";
import { KopsCli, KopsObject } from "../../lib/kops";
import { CANAL_LABEL, INSTANCE_GROUP_LABEL } from "../../lib/labels";
import { desiredNodeLabels } from "../../lib/plan";
import { MigrationOutputs, defineMigration } from "../../lib/program";
import { Stage } from "../../lib/stage";

export const FIXTURES = path.resolve(__dirname, "..", "..", "..", "shared", "fixtures");
export const FIXTURE_CLUSTER = path.join(FIXTURES, "kops", "privatecanal", "cluster.yaml");
export const CLUSTER_NAME = "privatecanal.example.com";
export const KOPS_DOUBLE = path.join(__dirname, "kops-double.js");

export interface Registered {
  readonly type: string;
  readonly name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly inputs: any;
}

/** The fixture's specs, optionally with an ingress group `ingress` added (a copy of `nodes`). */
export function fixtureSpecs(opts: { ingressGroup?: boolean } = {}): KopsObject[] {
  const objs = YAML.parseAllDocuments(fs.readFileSync(FIXTURE_CLUSTER, "utf8"))
    .map((d) => d.toJS() as KopsObject | null)
    .filter((o): o is KopsObject => o !== null);
  if (opts.ingressGroup) {
    const nodes = objs.find((o) => o.metadata.name === "nodes") as KopsObject;
    const ingress = structuredClone(nodes);
    ingress.metadata.name = "ingress";
    ingress.spec.taints = ["dedicated=ingress:NoSchedule"];
    objs.push(ingress);
  }
  return objs;
}

/** A kops state folder for the double holding `specs`. */
export function kopsState(specs: KopsObject[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-test-"));
  fs.writeFileSync(path.join(dir, "specs.yaml"), specs.map((o) => YAML.stringify(o)).join("---\n"));
  return dir;
}

/** The kops calls the double received, as argv arrays. */
export function kopsCalls(stateDir: string): string[][] {
  const file = path.join(stateDir, "calls.log");
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as string[]);
}

/** Nodes of each non-bastion group labelled as the stage before `stage` left them. */
export function nodesBefore(stage: Stage, specs: KopsObject[], ingress: string[] = []): NodeInfo[] {
  const prev = stage === Stage.Prepare ? undefined : ((stage - 1) as Stage);
  return specs
    .filter((o) => o.kind === "InstanceGroup" && o.spec.role !== "Bastion")
    .map((g, i) => ({
      name: `${g.metadata.name}-0`,
      labels: {
        [INSTANCE_GROUP_LABEL]: g.metadata.name,
        ...(prev === undefined ? {} : desiredNodeLabels(prev, ingress.includes(g.metadata.name))),
        ...(prev === Stage.Prepare ? { [CANAL_LABEL]: "true" } : {}),
      },
      podCIDRs: [`100.96.${i}.0/24`],
    }));
}

export interface StageRun {
  readonly stage: Stage;
  /** Config in the cni-migration namespace, merged over the defaults of the run. */
  readonly config?: Record<string, unknown>;
  readonly specs?: KopsObject[];
  readonly nodes?: NodeInfo[];
  /** The stage record; by default the previous stage, held by this stack (as after a promotion). */
  readonly record?: StageRecord | null;
  readonly stackName?: string;
  readonly dryRun?: boolean;
  /** Where registrations are collected; a fresh list by default. */
  readonly sink?: Registered[];
}

export interface StageResult {
  readonly resources: Registered[];
  readonly outputs: MigrationOutputs;
  readonly stateDir: string;
}

/** Waits until no resource has been registered for a while. */
export async function settle(resources: Registered[]): Promise<void> {
  let seen = -1;
  let quiet = 0;
  while (quiet < 5) {
    await new Promise((r) => setTimeout(r, 20));
    if (resources.length === seen) quiet++;
    else {
      seen = resources.length;
      quiet = 0;
    }
  }
}

export async function runStage(run: StageRun): Promise<StageResult> {
  const stage = run.stage;
  const stackName = run.stackName ?? `stage${stage}`;
  const specs = run.specs ?? fixtureSpecs();
  const stateDir = kopsState(specs);
  const resources: Registered[] = run.sink ?? [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "cni-migration",
    stackName,
    run.dryRun ?? false,
  );
  const raw: Record<string, unknown> = {
    stage: String(stage),
    clusterName: CLUSTER_NAME,
    stateStore: `file://${stateDir}`,
    kopsBinary: KOPS_DOUBLE,
    ...(stage >= Stage.CiliumKpr ? { cilium: { apiServerHost: "api.internal.example.com" } } : {}),
    ...run.config,
  };
  const config = parseConfig(raw, stackName);
  const record =
    run.record === null
      ? undefined
      : (run.record ??
        (stage === Stage.Prepare ? undefined : { stage: (stage - 1) as Stage, stack: stackName }));
  const nodes = run.nodes ?? nodesBefore(stage, specs, config.ingressInstanceGroups as string[]);
  const outputs = await defineMigration(config, {
    kops: new KopsCli(config.kopsBinary, config.clusterName, config.stateStore),
    cluster: () =>
      Promise.resolve({
        listNodes: () => Promise.resolve(nodes),
        readStageRecord: () => Promise.resolve(record),
      }),
    stackName,
    dryRun: run.dryRun ?? false,
  });
  await settle(resources);
  return { resources, outputs, stateDir };
}

/** `type name` of every resource, sorted, for exact comparisons. */
export function inventory(resources: readonly Registered[]): string[] {
  return resources.map((r) => `${r.type} ${r.name}`).sort();
}

export function find(resources: readonly Registered[], name: string): Registered {
  const r = resources.find((x) => x.name === name);
  if (r === undefined)
    throw new Error(`no resource named ${name}; have ${inventory(resources).join(", ")}`);
  return r;
}
