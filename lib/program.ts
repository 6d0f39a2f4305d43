/**
 * The program of one stage: reads the kops specs and the cluster, runs preflight, and declares
 * the stage's components. `index.ts` calls it with the real kops CLI and cluster; tests call it
 * with doubles.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import { CanalPatch, CanalRemoval } from "../components/canal";
import { CiliumRelease, isRepository } from "../components/cilium-release";
import { KopsRollout } from "../components/kops-rollout";
import { KopsSpecs } from "../components/kops-specs";
import { MigrationPolicies } from "../components/migration-policies";
import { Multus } from "../components/multus";
import { StageRecord } from "../components/stage-record";
import { BUNDLED_CHART, ChartInfo, loadChart } from "./chart";
import { ClusterReader, NodeInfo, StageRecord as Record_ } from "./cluster";
import { DEFAULT_CILIUM_VERSION, MigrationConfig } from "./config";
import { KopsObject, clusterFacts, groupRef } from "./kops";
import { rollOrder, stageObjects } from "./plan";
import { PreflightError, preflight } from "./preflight";
import { Stage, describeStage, stageName } from "./stage";
import { ciliumValues, valuesHash } from "./values";

/** What the program reads kops through: the real CLI, or a double in tests. */
export interface KopsReader {
  version(): string;
  getCluster(): KopsObject;
  getInstanceGroups(): KopsObject[];
}

export interface ProgramDeps {
  readonly kops: KopsReader;
  /** The live cluster; its failures are tolerated in preview and fatal on `up`. */
  readonly cluster: () => Promise<ClusterReader>;
  readonly stackName: string;
  readonly dryRun: boolean;
}

export interface MigrationOutputs {
  readonly stage: number;
  readonly stageName: string;
  readonly labelsByInstanceGroup: Record<string, Record<string, string>>;
  readonly rollOrder: string[];
  readonly ciliumValuesHash: string;
  readonly nextStep: string;
}

export function chartFor(config: MigrationConfig): ChartInfo | undefined {
  const c = config.cilium;
  if (!isRepository(c.chart)) return loadChart(c.chart);
  if (c.version === DEFAULT_CILIUM_VERSION && fs.existsSync(BUNDLED_CHART))
    return loadChart(BUNDLED_CHART);
  return undefined;
}

function nextStep(stage: Stage, stack: string): string {
  if (stage === Stage.Complete) {
    return "The migration is complete. Keep the stage4 stack; the other stage stacks can be removed.";
  }
  const rolls =
    stage === Stage.Prepare
      ? ""
      : "Once every roll above has finished and `kops validate cluster` passes, ";
  return `${rolls}promote with \`cni-migration promote --to ${stage + 1}\` (from stack ${stack}).`;
}

/** Reads, checks and declares one stage. Throws before registering anything when a check fails. */
export async function defineMigration(
  config: MigrationConfig,
  deps: ProgramDeps,
): Promise<MigrationOutputs> {
  const stage = config.stage;
  const cluster = deps.kops.getCluster();
  const groups = deps.kops.getInstanceGroups();
  const kopsVersion = deps.kops.version();
  const facts = clusterFacts(cluster);

  let nodes: NodeInfo[] | undefined;
  let record: Record_ | undefined | "unreadable";
  try {
    const reader = await deps.cluster();
    nodes = await reader.listNodes();
    record = await reader.readStageRecord();
  } catch (e) {
    if (!deps.dryRun) {
      throw new Error(
        `the cluster could not be read (${(e as Error).message}); nothing was changed. Check the ` +
          `kubeconfig context of ${facts.name} (KUBECONFIG, \`kubectl config current-context\`).`,
      );
    }
    nodes = undefined;
    record = "unreadable";
  }

  const apiServerPort = config.cilium.apiServerPort ?? (facts.apiLoadBalancerSsl ? 8443 : 443);
  const values = ciliumValues({
    stage,
    cilium: config.cilium,
    apiServerPort,
    policiesOff: config.networkPolicies === "none",
  });
  const result = preflight({
    config,
    stackName: deps.stackName,
    facts,
    groups,
    kopsVersion,
    nodes,
    record,
    values,
    chart: chartFor(config),
  });
  if (result.errors.length > 0) throw new PreflightError(stage, result.errors);
  for (const w of result.warnings) void pulumi.log.warn(w);
  void pulumi.log.info(
    `cni-migration: ${describeStage(stage)} on cluster ${facts.name} from stack ${deps.stackName}`,
  );

  const objects = stageObjects(stage, config.networkPolicies === "keep");
  const kops = {
    binary: config.kopsBinary,
    clusterName: config.clusterName,
    stateStore: config.stateStore,
  };
  const steps = rollOrder(stage, groups.map(groupRef), config.ingressInstanceGroups);

  const specs = new KopsSpecs("kops-specs", {
    kops,
    stage,
    instanceGroups: groups,
    ingressInstanceGroups: config.ingressInstanceGroups,
  });

  // Stage 3 needs the CiliumNodeConfig before the upgrade that turns KPR on; elsewhere the
  // policies need the operator of the release to have registered the CRDs.
  const early = stage === Stage.CiliumKpr ? policiesFor("migration-policies", objects) : undefined;

  // In stage 0 the kops specs are written and applied first, so nodes created from now on carry
  // the canal label, then existing nodes are labelled and canal is pinned to them.
  const preRollout =
    stage === Stage.Prepare ? rolloutFor(config, stage, kops, steps, values, specs, []) : undefined;
  const canal = objects.canalPatch
    ? new CanalPatch(
        "canal",
        { labelExistingNodes: objects.labelExistingNodes },
        { dependsOn: preRollout ? [preRollout] : [] },
      )
    : undefined;
  const cilium = new CiliumRelease(
    "cilium",
    { chart: config.cilium.chart, version: config.cilium.version, values },
    { dependsOn: [...(canal ? [canal] : []), ...(early ? [early] : [])] },
  );
  const multus = objects.multus
    ? new Multus("multus", { image: config.multus.image }, { dependsOn: [cilium] })
    : undefined;
  const policies =
    early ??
    (objects.temporaryPolicy || objects.kprNodeConfig
      ? policiesFor("migration-policies", objects, [cilium])
      : undefined);
  const removal = objects.canalRemoved
    ? new CanalRemoval("canal-removal", { dependsOn: [cilium] })
    : undefined;
  const rollout =
    preRollout ??
    rolloutFor(
      config,
      stage,
      kops,
      steps,
      values,
      specs,
      present(cilium, policies, multus, removal),
    );
  new StageRecord(
    "stage-record",
    { stage, stack: deps.stackName },
    {
      dependsOn: present(rollout, cilium, policies, canal, multus),
    },
  );

  return {
    stage,
    stageName: stageName(stage),
    labelsByInstanceGroup: specs.labelsByInstanceGroup,
    rollOrder: steps.map((s) => s.instanceGroup),
    ciliumValuesHash: valuesHash(values),
    nextStep: nextStep(stage, deps.stackName),
  };
}

/** The resources that exist in this stage, for `dependsOn`. */
function present(...resources: (pulumi.Resource | undefined)[]): pulumi.Resource[] {
  return resources.filter((r): r is pulumi.Resource => r !== undefined);
}

function policiesFor(
  name: string,
  objects: ReturnType<typeof stageObjects>,
  after: pulumi.Resource[] = [],
): MigrationPolicies {
  return new MigrationPolicies(
    name,
    { temporaryPolicy: objects.temporaryPolicy, kprNodeConfig: objects.kprNodeConfig },
    { dependsOn: after },
  );
}

function rolloutFor(
  config: MigrationConfig,
  stage: Stage,
  kops: { binary: string; clusterName: string; stateStore: string },
  steps: ReturnType<typeof rollOrder>,
  values: Record<string, unknown>,
  specs: KopsSpecs,
  after: pulumi.Resource[],
): KopsRollout {
  return new KopsRollout(
    "kops-rollout",
    {
      kops,
      stage,
      steps,
      rollout: config.rollout,
      inputs: { labels: specs.labelsByInstanceGroup, ciliumValues: valuesHash(values) },
    },
    { dependsOn: [...specs.writes, ...after] },
  );
}
