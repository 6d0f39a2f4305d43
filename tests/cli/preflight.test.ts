import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { DescribeLoadBalancersCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PreflightDeps, PreflightOptions, runPreflight } from "../../cli/preflight";
import { renderChecks, wrap } from "../../cli/preflight-render";
import { awsClients } from "../../lib/aws-checks";
import { KubeRequestError, Lister } from "../../lib/cluster-read";
import { KopsCli } from "../../lib/kops";
import { AwsStubs, restoreAws, stubAws } from "../support/aws-stubs";
import { fixtureLister } from "../support/fixtures";
import { CLUSTER_NAME, KOPS_DOUBLE, fixtureSpecs, kopsState } from "../support/harness";

interface Run {
  code: number;
  out: string;
  err: string;
  regions: string[];
}

/** A project directory whose Pulumi.<stack>.yaml points kops at the double's state. */
function project(config: Record<string, unknown>, stack = "stage3"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-preflight-"));
  const lines = Object.entries(config).map(
    ([k, v]) => `  cni-migration:${k}: ${JSON.stringify(v)}`,
  );
  fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), `config:\n${lines.join("\n")}\n`);
  return dir;
}

const stateDir = kopsState(fixtureSpecs());
const STAGE3 = {
  stage: "3",
  clusterName: CLUSTER_NAME,
  stateStore: `file://${stateDir}`,
  kopsBinary: KOPS_DOUBLE,
  cilium: { apiServerHost: "api.privatecanal.example.com" },
};

async function run(
  opts: Partial<PreflightOptions>,
  deps: Partial<PreflightDeps> = {},
): Promise<Run> {
  const r: Run = { code: -1, out: "", err: "", regions: [] };
  r.code = await runPreflight(
    { projectDir: project(STAGE3), aws: "auto", ...opts },
    {
      write: (t) => void (r.out += t),
      writeError: (t) => void (r.err += t),
      lister: () => Promise.resolve(fixtureLister("status-stage2")),
      kops: (binary, name, state) => new KopsCli(binary, name, state),
      env: {},
      awsClients: (region) => {
        r.regions.push(region);
        return awsClients(region);
      },
      ...deps,
    },
  );
  return r;
}

const unreadable = (): Promise<Lister> =>
  Promise.resolve({
    context: null,
    list: () =>
      Promise.reject(new KubeRequestError("GET /api/v1/nodes failed: ECONNREFUSED", undefined)),
  });

describe("cni-migration preflight", () => {
  it("checks the stage after the recorded one, as promotion leaves it, and prints the table", async () => {
    const r = await run({});
    expect(r.err).to.equal("");
    expect(r.out.split("\n")).to.deep.equal([
      "preflight of stage 3 (cilium + KPR) for stack stage3 on cluster privatecanal.example.com",
      "",
      "RESULT   CHECK                   DETAIL",
      "pass     kubernetes-version      Kubernetes version kops runs canal on: Kubernetes v1.27.0",
      "warn     cilium-tested-versions  Kubernetes v1.27.0 is outside the versions Cilium 1.18.6 is tested",
      "                                 on (1.30-1.33)",
      "                                 fix: it is expected to work, but rehearse first.",
      "pass     kops-version            kops version with canal support: kops 1.33.2",
      "pass     networking              kops networking is canal, or cni after stage 0: networking canal",
      "pass     kube-proxy              kube-proxy on until stage 3: kube-proxy enabled",
      "pass     cilium-pool             Cilium pool disjoint from every other range: 100.72.0.0/13 overlaps",
      "                                 none of 10 ranges",
      "pass     ingress-groups          ingress groups exist and have role Node: no ingress groups",
      "pass     node-labels             every node labelled for the stage: 7 nodes read",
      "pass     cni-exclusive           cni.exclusive off while canal or Multus remain: cni.exclusive false",
      "pass     l7-proxy                cilium-envoy only where agents run: l7Proxy off",
      "pass     chart-values            every Cilium value exists in the chart: checked against chart",
      "                                 1.18.6",
      "pass     stage-order             stage order and the stack holding the cluster: nodes replaced in",
      "                                 stage 3 run Cilium alone without kube-proxy; going back needs",
      "                                 kube-proxy re-enabled in the kops spec and every such node replaced",
      "                                 by hand, while the CiliumNodeConfig keeps KPR off on dual nodes,",
      "                                 once `cni-migration promote --to 3` moves the cluster from stack",
      "                                 stage2",
      "skipped  aws-api-load-balancer   cilium.apiServerHost names the API load balancer: skipped (no AWS",
      "                                 credentials)",
      "skipped  aws-source-dest-check   EC2 source/destination check off for DSR: skipped (no AWS",
      "                                 credentials)",
      "skipped  aws-asg-label-tags      autoscaling group tags carry the node labels: skipped (no AWS",
      "                                 credentials)",
      "",
      "11 passed, 1 warned, 0 failed, 3 skipped",
      "",
    ]);
    expect(r.code).to.equal(2);
  });

  it("exits 1 on a failed check, with its fix under the problem", async () => {
    const r = await run({
      stage: 2,
      projectDir: project(
        { ...STAGE3, stage: "2", cilium: { podCIDR: "100.96.4.0/22" } },
        "stage2",
      ),
    });
    expect(r.code).to.equal(1);
    const lines = r.out.split("\n");
    const at = lines.findIndex((l) => l.startsWith("fail     cilium-pool"));
    expect(lines.slice(at, at + 6)).to.deep.equal([
      "fail     cilium-pool             `cni-migration:cilium.podCIDR` is 100.96.4.0/22, which overlaps the",
      "                                 cluster's podCIDR (kops spec.podCIDR) 100.96.0.0/11, node",
      "                                 nodes-new-1's podCIDR 100.96.4.0/24, node nodes-new-2's podCIDR",
      "                                 100.96.5.0/24, node nodes-new-3's podCIDR 100.96.6.0/24.",
      "                                 fix: Choose a range disjoint from all of them, e.g. `pulumi",
      "                                   config set --path cilium.podCIDR 100.72.0.0/22`.",
    ]);
    expect(lines.find((l) => l.startsWith("pass     stage-order"))).to.equal(
      "pass     stage-order             stage order and the stack holding the cluster: re-applying stage 2",
    );
  });

  it("exits 3 when the cluster cannot be read, after warning in the table", async () => {
    const r = await run({ stage: 3 }, { lister: unreadable });
    expect(r.code).to.equal(3);
    expect(r.err).to.equal(
      "cni-migration: could not read the cluster (GET /api/v1/nodes failed: ECONNREFUSED); node " +
        "and stage-order checks will warn. Check the kubeconfig context (--context, KUBECONFIG).\n",
    );
    expect(r.out).to.contain(
      "warn     node-labels             the cluster could not be read, so node podCIDRs and node labels",
    );
    const without = await run({}, { lister: unreadable });
    expect(without.code).to.equal(3);
    expect(without.out).to.equal("");
    expect(without.err).to.match(/the stage to check is not known; pass --stage N\.\n$/);
  });

  it("exits 1 on invalid configuration, naming the file and the flags that override it", async () => {
    const dir = project({ stage: "3" });
    const r = await run({ projectDir: dir });
    expect(r.code).to.equal(1);
    expect(r.err).to.contain(
      "`cni-migration:clusterName` is missing; set it to the kops cluster name",
    );
    expect(r.err).to.contain(
      `(read from ${path.join(dir, "Pulumi.stage3.yaml")}; --name, --state and --kops override it)`,
    );
  });

  it("exits 3 when kops cannot be run, naming the binary", async () => {
    const r = await run({ kops: "/nonexistent/kops" });
    expect(r.code).to.equal(3);
    expect(r.err).to.equal(
      "cni-migration: could not read the kops specs: the kops binary `/nonexistent/kops` was not " +
        "found. Install kops (< 1.34) or set `cni-migration:kopsBinary` to its path.\n",
    );
  });

  describe("with AWS credentials", () => {
    let aws: AwsStubs;
    before(() => {
      aws = stubAws();
    });
    after(() => restoreAws(aws));

    it("runs the AWS checks in the cluster's region", async () => {
      aws.elb.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [] });
      aws.ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
      aws.asg.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
      const r = await run({}, { env: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE" } });
      expect(r.regions).to.deep.equal(["us-test-1"]);
      const awsRows = r.out.split("\n").filter((l) => /^\w+ +aws-/.test(l));
      expect(awsRows).to.deep.equal([
        "warn    aws-api-load-balancer   no load balancer tagged KubernetesCluster=privatecanal.example.com",
        "pass    aws-source-dest-check   EC2 source/destination check off for DSR: off on all 0 instances",
        "pass    aws-asg-label-tags      autoscaling group tags carry the node labels: 0 groups tagged as",
      ]);
    });

    it("skips them when told to", async () => {
      const off = await run({ aws: "off" }, { env: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE" } });
      expect(off.out).to.contain("skipped (--aws off)");
      expect(off.regions).to.deep.equal([]);
    });
  });
});

describe("the preflight table", () => {
  it("wraps at spaces and keeps a word longer than the width whole", () => {
    expect(wrap("one two three four", 9)).to.deep.equal(["one two", "three", "four"]);
    expect(wrap("abcdefghijkl x", 5)).to.deep.equal(["abcdefghijkl", "x"]);
    expect(wrap("", 5)).to.deep.equal([""]);
  });

  it("sizes its columns to the longest status and check name", () => {
    expect(
      renderChecks([{ id: "x", title: "t", status: "pass", note: "fine", findings: [] }]),
    ).to.deep.equal([
      "RESULT  CHECK  DETAIL",
      "pass    x      t: fine",
      "",
      "1 passed, 0 warned, 0 failed, 0 skipped",
    ]);
  });
});
