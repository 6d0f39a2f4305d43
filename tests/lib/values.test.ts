import { expect } from "chai";
import * as path from "node:path";
import { ChartInfo, loadChart, schemaErrors, unknownValueKeys } from "../../lib/chart";
import { parseConfig } from "../../lib/config";
import { Stage } from "../../lib/stage";
import { Values, ciliumValues } from "../../lib/values";
import { FIXTURES } from "../support/harness";

const chart: ChartInfo = loadChart(path.join(FIXTURES, "charts", "cilium-1.18.6.tgz"));
const config = parseConfig(
  {
    stage: "3",
    clusterName: "c",
    stateStore: "s3://s",
    cilium: { apiServerHost: "api.example.com" },
  },
  "stage3",
);
const valuesOf = (stage: Stage, policiesOff = false): Values =>
  ciliumValues({ stage, cilium: config.cilium, apiServerPort: 443, policiesOff });

describe("Cilium values", () => {
  for (const stage of [Stage.Prepare, Stage.CiliumKpr, Stage.Complete]) {
    it(`validates the values of stage ${stage} against the chart's schema, every key known`, () => {
      const values = valuesOf(stage);
      expect(schemaErrors(values, chart)).to.deep.equal([]);
      expect(unknownValueKeys(values, chart)).to.deep.equal([]);
    });
  }

  it("runs agents only on cilium nodes, beside canal, in stages 0 to 2", () => {
    for (const stage of [Stage.Prepare, Stage.DualCanalPrimary, Stage.DualCiliumPrimary]) {
      expect(valuesOf(stage)).to.deep.equal({
        operator: { unmanagedPodWatcher: { restart: false } },
        ipam: { mode: "cluster-pool", operator: { clusterPoolIPv4PodCIDRList: ["100.72.0.0/13"] } },
        cni: { exclusive: false },
        l7Proxy: false,
        bpf: { hostLegacyRouting: true },
        tunnelProtocol: "geneve",
        tunnelPort: 6081,
        nodeSelector: { "kubernetes.io/os": "linux", "node-role.kubernetes.io/cilium": "true" },
      });
    }
  });

  it("turns on KPR with DSR and the API server address in stage 3", () => {
    const v = valuesOf(Stage.CiliumKpr);
    expect(v).to.deep.include({
      kubeProxyReplacement: "true",
      k8sServiceHost: "api.example.com",
      k8sServicePort: 443,
      loadBalancer: { mode: "dsr", dsrDispatch: "geneve" },
      socketLB: { enabled: true, hostNamespaceOnly: true },
      cni: { exclusive: false },
    });
    expect(v.nodeSelector).to.deep.equal({
      "kubernetes.io/os": "linux",
      "node-role.kubernetes.io/cilium": "true",
    });
  });

  it("lifts the node selector and the migration's restrictions in stage 4", () => {
    const v = valuesOf(Stage.Complete);
    expect(v).not.to.have.property("nodeSelector");
    expect(v).not.to.have.property("cni");
    expect(v).not.to.have.property("operator");
    expect(v.bpf).to.deep.equal({ disableExternalIPMitigation: true });
  });

  it("turns policy enforcement off until stage 4 when policies are not kept", () => {
    expect(valuesOf(Stage.DualCanalPrimary, true).policyEnforcementMode).to.equal("never");
    expect(valuesOf(Stage.Complete, true)).not.to.have.property("policyEnforcementMode");
  });

  it("finds misspelt keys that the schema lets through", () => {
    const v = { loadBalancer: { mode: "dsr", dsrDispach: "geneve" }, socketLb: { enabled: true } };
    expect(schemaErrors(v, chart)).to.deep.equal([]);
    expect(unknownValueKeys(v, chart)).to.deep.equal(["loadBalancer.dsrDispach", "socketLb"]);
  });

  it("accepts free-form maps the chart renders whole", () => {
    expect(
      unknownValueKeys(
        { nodeSelector: { "example.com/any": "x" }, podAnnotations: { a: "b" } },
        chart,
      ),
    ).to.deep.equal([]);
  });
});
