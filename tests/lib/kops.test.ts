import { expect } from "chai";
import {
  KopsObject,
  clusterFacts,
  desiredClusterSpec,
  desiredInstanceGroupSpec,
  parseKopsObjects,
} from "../../lib/kops";
import { Stage } from "../../lib/stage";
import { fixtureSpecs } from "../support/harness";

const specs = fixtureSpecs();
const cluster = specs.find((o) => o.kind === "Cluster") as KopsObject;
const group = (name: string): KopsObject =>
  specs.find((o) => o.metadata.name === name) as KopsObject;

describe("kops specs", () => {
  it("fills kops's defaults into the fixture cluster's facts", () => {
    expect(clusterFacts(cluster)).to.deep.equal({
      name: "privatecanal.example.com",
      kubernetesVersion: "v1.27.0",
      networking: ["canal"],
      podCIDR: "100.96.0.0/11",
      serviceClusterIPRange: "100.64.0.0/13",
      nonMasqueradeCIDR: "100.64.0.0/10",
      networkCIDR: "172.20.0.0/16",
      kubeProxyEnabled: true,
      apiLoadBalancerSsl: false,
    });
  });

  it("switches networking to cni: {} and keeps every other cluster field", () => {
    const next = desiredClusterSpec(cluster, Stage.Prepare);
    expect(next.spec.networking).to.deep.equal({ cni: {} });
    const { networking: _a, ...restBefore } = cluster.spec;
    const { networking: _b, ...restAfter } = next.spec;
    expect(restAfter).to.deep.equal(restBefore);
    expect(cluster.spec.networking).to.deep.equal({ canal: {} }, "the input is not changed");
  });

  it("disables kube-proxy from stage 3 only, keeping its other settings", () => {
    const withProxy = structuredClone(cluster);
    withProxy.spec.kubeProxy = { metricsBindAddress: "0.0.0.0" };
    expect(desiredClusterSpec(withProxy, Stage.DualCiliumPrimary).spec.kubeProxy).to.deep.equal({
      metricsBindAddress: "0.0.0.0",
    });
    expect(desiredClusterSpec(withProxy, Stage.CiliumKpr).spec.kubeProxy).to.deep.equal({
      metricsBindAddress: "0.0.0.0",
      enabled: false,
    });
  });

  it("sets the stage's labels and keeps the group's own labels, taints and cloud labels", () => {
    const ig = structuredClone(group("nodes"));
    ig.spec.nodeLabels = { team: "payments", "node-role.kubernetes.io/canal": "true" };
    ig.spec.taints = ["dedicated=payments:NoSchedule"];
    ig.spec.cloudLabels = { owner: "platform" };
    const next = desiredInstanceGroupSpec(ig, Stage.DualCiliumPrimary, []);
    expect(next.spec.nodeLabels).to.deep.equal({
      team: "payments",
      "node-role.kubernetes.io/canal": "true",
      "node-role.kubernetes.io/cilium": "true",
      "node-role.kubernetes.io/cni-priority": "cilium",
    });
    expect(next.spec.taints).to.deep.equal(["dedicated=payments:NoSchedule"]);
    expect(next.spec.cloudLabels).to.deep.equal({ owner: "platform" });
  });

  it("mirrors the labels into cluster-autoscaler node-template tags where the group uses them", () => {
    const ig = structuredClone(group("nodes"));
    ig.spec.cloudLabels = {
      "k8s.io/cluster-autoscaler/enabled": "",
      "k8s.io/cluster-autoscaler/node-template/label/team": "payments",
      "k8s.io/cluster-autoscaler/node-template/label/node-role.kubernetes.io/canal": "true",
    };
    const next = desiredInstanceGroupSpec(ig, Stage.CiliumKpr, []);
    expect(next.spec.cloudLabels).to.deep.equal({
      "k8s.io/cluster-autoscaler/enabled": "",
      "k8s.io/cluster-autoscaler/node-template/label/team": "payments",
      "k8s.io/cluster-autoscaler/node-template/label/node-role.kubernetes.io/cilium": "true",
    });
  });

  it("removes the nodeLabels field in stage 4 when the migration's labels were the only ones", () => {
    const ig = structuredClone(group("nodes"));
    ig.spec.nodeLabels = { "node-role.kubernetes.io/cilium": "true" };
    expect(desiredInstanceGroupSpec(ig, Stage.Complete, []).spec).not.to.have.property(
      "nodeLabels",
    );
  });

  it("leaves bastions untouched", () => {
    expect(desiredInstanceGroupSpec(group("bastion"), Stage.DualCanalPrimary, [])).to.deep.equal(
      group("bastion"),
    );
  });

  it("refuses kops output that is not kops objects, naming the command", () => {
    expect(() => parseKopsObjects("kind: Cluster\nspec: {}\n", "`kops get cluster`")).to.throw(
      "`kops get cluster` printed a document without kind, metadata.name and spec (document 1); " +
        "is the kops binary a real kops and the cluster name right?",
    );
    expect(() => parseKopsObjects("a: [\n", "`kops get cluster`")).to.throw(
      "`kops get cluster` printed YAML that does not parse (document 1)",
    );
  });
});
