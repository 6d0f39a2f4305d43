import { expect } from "chai";
import { ConfigError } from "../lib/config";
import { CANAL_LABEL, CILIUM_LABEL, PRIORITY_LABEL } from "../lib/labels";
import { PreflightError } from "../lib/preflight";
import { Stage } from "../lib/stage";
import { ciliumValues } from "../lib/values";
import { parseConfig } from "../lib/config";
import {
  Registered,
  find,
  fixtureSpecs,
  inventory,
  kopsCalls,
  nodesBefore,
  runStage,
  settle,
} from "./support/harness";

const COMPONENTS_0_TO_3 = [
  "cni-migration:canal:CanalPatch canal",
  "cni-migration:cilium:CiliumRelease cilium",
  "cni-migration:cilium:MigrationPolicies migration-policies",
  "cni-migration:kops:KopsRollout kops-rollout",
  "cni-migration:kops:KopsSpecs kops-specs",
  "cni-migration:multus:Multus multus",
  "cni-migration:stage:StageRecord stage-record",
];
const SPECS = [
  "pulumi-nodejs:dynamic/cni-migration:Step kops-specs-cluster",
  "pulumi-nodejs:dynamic/cni-migration:Step kops-specs-ig-master-us-test-1a",
  "pulumi-nodejs:dynamic/cni-migration:Step kops-specs-ig-nodes",
  "pulumi-nodejs:dynamic/cni-migration:Step kops-rollout-update",
];
const MULTUS = [
  "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition multus-crd",
  "kubernetes:apps/v1:DaemonSet multus-canal-primary",
  "kubernetes:apps/v1:DaemonSet multus-cilium-primary",
  "kubernetes:core/v1:ConfigMap multus-config",
  "kubernetes:core/v1:ServiceAccount multus-sa",
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole multus-role",
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding multus-role-binding",
];
const CORE_0_TO_3 = [
  ...COMPONENTS_0_TO_3,
  ...SPECS,
  ...MULTUS,
  "pulumi-nodejs:dynamic/cni-migration:Step migration-policies-wait-crds",
  "kubernetes:apps/v1:DaemonSetPatch canal-patch",
  "kubernetes:cilium.io/v2:CiliumClusterwideNetworkPolicy migration-policies-allow-all",
  "kubernetes:core/v1:ConfigMap stage-record-configmap",
  "kubernetes:helm.sh/v3:Release cilium-release",
];
const ROLLS = [
  "pulumi-nodejs:dynamic/cni-migration:Step kops-rollout-roll-master-us-test-1a",
  "pulumi-nodejs:dynamic/cni-migration:Step kops-rollout-roll-nodes",
];

const EXPECTED: Record<Stage, string[]> = {
  [Stage.Prepare]: [...CORE_0_TO_3, "pulumi-nodejs:dynamic/cni-migration:Step canal-label-nodes"],
  [Stage.DualCanalPrimary]: [...CORE_0_TO_3, ...ROLLS],
  [Stage.DualCiliumPrimary]: [...CORE_0_TO_3, ...ROLLS],
  [Stage.CiliumKpr]: [
    ...CORE_0_TO_3,
    ...ROLLS,
    "kubernetes:cilium.io/v2:CiliumNodeConfig migration-policies-kpr-off-on-dual-nodes",
  ],
  [Stage.Complete]: [
    "cni-migration:canal:CanalRemoval canal-removal",
    "cni-migration:cilium:CiliumRelease cilium",
    "cni-migration:kops:KopsRollout kops-rollout",
    "cni-migration:kops:KopsSpecs kops-specs",
    "cni-migration:stage:StageRecord stage-record",
    "pulumi-nodejs:dynamic/cni-migration:Step canal-removal-delete",
    ...SPECS,
    "kubernetes:core/v1:ConfigMap stage-record-configmap",
    "kubernetes:helm.sh/v3:Release cilium-release",
  ],
};

/** Runs a stage that must be refused; returns the message after checking nothing was registered. */
async function refusal(run: Parameters<typeof runStage>[0]): Promise<{ message: string }> {
  const sink: Registered[] = [];
  try {
    await runStage({ ...run, sink });
  } catch (e) {
    expect(e instanceof PreflightError || e instanceof ConfigError, String(e)).to.equal(true);
    await settle(sink);
    expect(inventory(sink)).to.deep.equal([]);
    return { message: (e as Error).message };
  }
  throw new Error("expected the stage to be refused");
}

describe("the program, per stage, on the fixture cluster", () => {
  for (const stage of [0, 1, 2, 3, 4] as Stage[]) {
    describe(`stage ${stage}`, () => {
      let resources: Registered[];
      before(async () => {
        resources = (await runStage({ stage })).resources;
      });

      it("declares exactly the stage's resources", () => {
        expect(inventory(resources)).to.deep.equal([...EXPECTED[stage]].sort());
      });

      it("installs Cilium never atomic, with the stage's values", () => {
        const release = find(resources, "cilium-release").inputs;
        expect(release.atomic).to.equal(false);
        expect(release.name).to.equal("cilium");
        expect(release.namespace).to.equal("kube-system");
        expect(release.repositoryOpts).to.deep.equal({ repo: "https://helm.cilium.io" });
        const config = parseConfig(
          {
            stage: String(stage),
            clusterName: "x",
            stateStore: "s",
            cilium: { apiServerHost: "api.internal.example.com" },
          },
          `stage${stage}`,
        );
        expect(release.values).to.deep.equal(
          ciliumValues({ stage, cilium: config.cilium, apiServerPort: 443, policiesOff: false }),
        );
      });

      it("records the stage and the stack in the cluster", () => {
        expect(find(resources, "stage-record-configmap").inputs.data).to.deep.equal({
          stage: String(stage),
          stageName: [
            "prepare",
            "dual, canal primary",
            "dual, cilium primary",
            "cilium + KPR",
            "complete",
          ][stage],
          stack: `stage${stage}`,
        });
      });
    });
  }

  it("patches canal onto canal nodes with /run/flannel shared, forced", async () => {
    const { resources } = await runStage({ stage: Stage.Prepare });
    expect(find(resources, "canal-patch").inputs).to.deep.equal({
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: {
        name: "canal",
        namespace: "kube-system",
        annotations: { "pulumi.com/patchForce": "true" },
      },
      spec: {
        template: {
          spec: {
            nodeSelector: { [CANAL_LABEL]: "true" },
            volumes: [
              {
                name: "run-flannel",
                hostPath: { path: "/run/flannel", type: "DirectoryOrCreate" },
              },
            ],
            containers: [
              {
                name: "kube-flannel",
                volumeMounts: [{ name: "run-flannel", mountPath: "/run/flannel" }],
              },
            ],
          },
        },
      },
    });
    expect(find(resources, "canal-label-nodes").inputs.args).to.deep.equal([
      "label-nodes",
      "--label",
      "node-role.kubernetes.io/canal=true",
    ]);
  });

  it("gives the two Multus DaemonSets disjoint selectors, dual nodes only, a pinned image", async () => {
    const { resources } = await runStage({ stage: Stage.DualCanalPrimary });
    const canal = find(resources, "multus-canal-primary").inputs.spec;
    const cilium = find(resources, "multus-cilium-primary").inputs.spec;
    expect(canal.template.spec.nodeSelector).to.deep.equal({
      [CANAL_LABEL]: "true",
      [CILIUM_LABEL]: "true",
      [PRIORITY_LABEL]: "canal",
    });
    expect(cilium.template.spec.nodeSelector).to.deep.equal({
      [CANAL_LABEL]: "true",
      [CILIUM_LABEL]: "true",
      [PRIORITY_LABEL]: "cilium",
    });
    expect(canal.selector).to.not.deep.equal(cilium.selector);
    expect(canal.template.spec.containers[0].image).to.equal(
      "ghcr.io/k8snetworkplumbingwg/multus-cni:v4.2.2",
    );
    const config = find(resources, "multus-config").inputs.data;
    expect(Object.keys(config).sort()).to.deep.equal([
      "cni-conf-canal-primary.json",
      "cni-conf-cilium-primary.json",
      "cni-conf-cilium-sbr.json",
      "cni-conf-flannel.json",
    ]);
    for (const text of Object.values(config as Record<string, string>)) {
      expect(JSON.parse(text)).to.have.property("cniVersion", "0.3.1");
    }
    const canalPrimary = JSON.parse(config["cni-conf-canal-primary.json"]).plugins[0];
    expect(canalPrimary).to.deep.include({
      clusterNetwork: "k8s-pod-network",
      defaultNetworks: ["cilium-sbr"],
      capabilities: { portMappings: true },
    });
  });

  it("turns KPR off on dual nodes with a cilium.io/v2 CiliumNodeConfig in stage 3", async () => {
    const { resources } = await runStage({ stage: Stage.CiliumKpr });
    expect(find(resources, "migration-policies-kpr-off-on-dual-nodes").inputs).to.deep.equal({
      apiVersion: "cilium.io/v2",
      kind: "CiliumNodeConfig",
      metadata: { name: "cni-migration-kube-proxy", namespace: "kube-system" },
      spec: {
        nodeSelector: { matchLabels: { [CANAL_LABEL]: "true", [CILIUM_LABEL]: "true" } },
        defaults: {
          "kube-proxy-replacement": "false",
          "kube-proxy-replacement-healthz-server-bind-address": "",
        },
      },
    });
  });

  it("writes each group's labels and rolls in the stage's order with validation flags", async () => {
    const { resources, outputs } = await runStage({ stage: Stage.DualCanalPrimary });
    expect(outputs.rollOrder).to.deep.equal(["master-us-test-1a", "nodes"]);
    expect(find(resources, "kops-specs-ig-nodes").inputs.args).to.deep.equal([
      "kops-apply",
      "instancegroup",
      "nodes",
      "--stage",
      "1",
    ]);
    expect(find(resources, "kops-rollout-roll-nodes").inputs.args).to.deep.equal([
      "kops-run",
      "--timeout",
      "6h",
      "--",
      "rolling-update",
      "cluster",
      "--instance-group",
      "nodes",
      "--validation-timeout",
      "15m",
      "--validate-count",
      "2",
      "--yes",
    ]);
    expect(find(resources, "kops-rollout-update").inputs.args).to.deep.equal([
      "kops-run",
      "--timeout",
      "30m",
      "--",
      "update",
      "cluster",
      "--yes",
    ]);
    expect(find(resources, "kops-rollout-roll-nodes").inputs.environment).to.deep.include({
      KOPS_CLUSTER_NAME: "privatecanal.example.com",
    });
  });

  it("reads the live kops specs and changes nothing in kops while declaring", async () => {
    const { stateDir } = await runStage({ stage: Stage.Prepare });
    const verbs = kopsCalls(stateDir).map((argv) =>
      argv.slice(0, argv[0] === "get" ? 2 : 1).join(" "),
    );
    expect(verbs).to.deep.equal(["get cluster", "get instancegroups", "version"]);
  });

  describe("with an ingress instance group", () => {
    const specs = fixtureSpecs({ ingressGroup: true });
    const config = { ingressInstanceGroups: '["ingress"]' };

    it("keeps ingress nodes canal-primary in stage 2", async () => {
      const { outputs } = await runStage({ stage: Stage.DualCiliumPrimary, specs, config });
      expect(outputs.labelsByInstanceGroup).to.deep.equal({
        "master-us-test-1a": {
          [CANAL_LABEL]: "true",
          [CILIUM_LABEL]: "true",
          [PRIORITY_LABEL]: "cilium",
        },
        nodes: { [CANAL_LABEL]: "true", [CILIUM_LABEL]: "true", [PRIORITY_LABEL]: "cilium" },
        ingress: { [CANAL_LABEL]: "true", [CILIUM_LABEL]: "true", [PRIORITY_LABEL]: "canal" },
      });
    });

    it("rolls ingress groups first in stage 3", async () => {
      const { outputs } = await runStage({ stage: Stage.CiliumKpr, specs, config });
      expect(outputs.rollOrder).to.deep.equal(["ingress", "master-us-test-1a", "nodes"]);
    });
  });

  describe("preflight refuses, registering nothing", () => {
    it("an overlapping Cilium pool", async () => {
      const { message } = await refusal({
        stage: Stage.Prepare,
        config: { cilium: { podCIDR: "100.96.0.0/12" } },
      });
      expect(message).to.equal(
        "preflight refused stage 0 (prepare); nothing was changed:\n" +
          "  - `cni-migration:cilium.podCIDR` is 100.96.0.0/12, which overlaps the cluster's podCIDR " +
          "(kops spec.podCIDR) 100.96.0.0/11, node master-us-test-1a-0's podCIDR 100.96.0.0/24, node " +
          "nodes-0's podCIDR 100.96.1.0/24. Choose a range disjoint from all of them, e.g. `pulumi " +
          "config set --path cilium.podCIDR 100.80.0.0/12`.",
      );
    });

    it("stage 3 without the API server host", async () => {
      const { message } = await refusal({ stage: Stage.CiliumKpr, config: { cilium: {} } });
      expect(message).to.equal(
        "invalid configuration (1 problem):\n" +
          "  - `cni-migration:cilium.apiServerHost` is missing; from stage 3 nodes run without " +
          "kube-proxy and reach the API server only through it. Set it to the API load balancer's " +
          "address, e.g. `pulumi config set --path cilium.apiServerHost api.example.com`.",
      );
    });

    it("a skipped stage", async () => {
      const { message } = await refusal({
        stage: Stage.DualCiliumPrimary,
        record: { stage: Stage.Prepare, stack: "stage2" },
      });
      expect(message).to.equal(
        "preflight refused stage 2 (dual, cilium primary); nothing was changed:\n" +
          "  - stage 2 (dual, cilium primary) cannot be applied: stages are applied one at a time " +
          "and stage 0 (prepare) is applied; the next stage is stage 1 (dual, canal primary).",
      );
    });

    it("a stack that does not hold the cluster, printing the promotion", async () => {
      const { message } = await refusal({
        stage: Stage.DualCiliumPrimary,
        record: { stage: Stage.DualCanalPrimary, stack: "stage1" },
      });
      expect(message).to.equal(
        "preflight refused stage 2 (dual, cilium primary); nothing was changed:\n" +
          "  - the cluster is held by stack `stage1` at stage 1 (dual, canal primary); stack " +
          "`stage2` does not hold it and must not change it. Move the cluster here with " +
          "`cni-migration promote --to 2`.",
      );
    });

    it("an unknown ingress group", async () => {
      const { message } = await refusal({
        stage: Stage.Prepare,
        config: { ingressInstanceGroups: '["ingres"]' },
      });
      expect(message).to.equal(
        "preflight refused stage 0 (prepare); nothing was changed:\n" +
          '  - `cni-migration:ingressInstanceGroups` names "ingres", which is not an instance group ' +
          "of privatecanal.example.com. Groups: master-us-test-1a, nodes, bastion. Fix the name or remove it.",
      );
    });

    it("an unlabelled node", async () => {
      const specs = fixtureSpecs();
      const nodes = [
        ...nodesBefore(Stage.DualCanalPrimary, specs),
        { name: "nodes-new", labels: {}, podCIDRs: [] },
      ];
      const { message } = await refusal({ stage: Stage.DualCanalPrimary, nodes });
      expect(message).to.equal(
        "preflight refused stage 1 (dual, canal primary); nothing was changed:\n" +
          "  - node nodes-new carries neither node-role.kubernetes.io/canal=true nor " +
          "node-role.kubernetes.io/cilium=true, so no CNI runs there once canal is pinned to " +
          "labelled nodes. Label it with `kubectl label node NAME node-role.kubernetes.io/canal=true` " +
          "(or re-apply stage 0, which labels every node).",
      );
    });

    it("a stage out of range", async () => {
      const { message } = await refusal({ stage: 5 as Stage, stackName: "dev" });
      expect(message).to.equal(
        "invalid configuration (1 problem):\n" +
          "  - `cni-migration:stage` is 5, which is not a stage. Valid stages: 0 (prepare), 1 (dual, " +
          "canal primary), 2 (dual, cilium primary), 3 (cilium + KPR), 4 (complete). Set it to one " +
          "of these numbers.",
      );
    });

    it("removing canal and Multus while nodes still use them", async () => {
      const specs = fixtureSpecs();
      const nodes = nodesBefore(Stage.CiliumKpr, specs); // labelled as stage 2 left them
      const { message } = await refusal({ stage: Stage.Complete, nodes });
      expect(message).to.equal(
        "preflight refused stage 4 (complete); nothing was changed:\n" +
          "  - nodes master-us-test-1a-0, nodes-0 still use canal or Multus (label " +
          "node-role.kubernetes.io/canal or node-role.kubernetes.io/cni-priority); deleting them " +
          "now would cut those nodes off. Finish the stage 3 roll (`kops rolling-update cluster " +
          "--yes`) so every node is replaced, then retry.",
      );
    });

    it("kops 1.34, which has no canal", async () => {
      process.env.KOPS_DOUBLE_VERSION = "1.34.0";
      try {
        const { message } = await refusal({ stage: Stage.Prepare });
        expect(message).to.contain(
          "kops 1.34.0 has no canal support (removed in 1.34), so it cannot manage this cluster while canal runs.",
        );
      } finally {
        delete process.env.KOPS_DOUBLE_VERSION;
      }
    });

    it("a misspelt Cilium value", async () => {
      const { message } = await refusal({
        stage: Stage.Prepare,
        config: { cilium: { values: { loadBalancer: { algorithim: "maglev" } } } },
      });
      expect(message).to.equal(
        "preflight refused stage 0 (prepare); nothing was changed:\n" +
          "  - Cilium chart 1.18.6 has no value `loadBalancer.algorithim` (from " +
          "`cni-migration:cilium.values` or values/); Helm would ignore it silently. Fix the " +
          "spelling or remove it.",
      );
    });
  });
});
