import { AutoScalingGroup, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import {
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { expect } from "chai";
import {
  AwsCheckInput,
  awsClients,
  awsCredentialSource,
  regionOf,
  runAwsChecks,
  skippedAwsChecks,
} from "../../lib/aws-checks";
import { KopsObject } from "../../lib/kops";
import { AwsStubs, restoreAws, stubAws } from "../support/aws-stubs";
import { Stage } from "../../lib/stage";

const CLUSTER = "privatecanal.example.com";
const LABEL = "k8s.io/cluster-autoscaler/node-template/label/node-role.kubernetes.io/";
const API_DNS = "api-privatecanal-0123456789.elb.us-test-1.amazonaws.com";

const ig = (name: string, role: string): KopsObject => ({
  apiVersion: "kops.k8s.io/v1alpha2",
  kind: "InstanceGroup",
  metadata: { name },
  spec: { role },
});

const base: AwsCheckInput = {
  clusterName: CLUSTER,
  stage: Stage.CiliumKpr,
  appliedStage: Stage.DualCiliumPrimary,
  apiServerHost: API_DNS,
  ingressGroups: ["ingress"],
  groups: [
    ig("master-us-test-1a", "Master"),
    ig("nodes", "Node"),
    ig("ingress", "Node"),
    ig("bastion", "Bastion"),
  ],
};

let aws: AwsStubs;

function asgOf(group: string, labels: Record<string, string>): AutoScalingGroup {
  return {
    AutoScalingGroupName: `${group}.${CLUSTER}`,
    MinSize: 1,
    MaxSize: 3,
    DesiredCapacity: 2,
    DefaultCooldown: 300,
    AvailabilityZones: ["us-test-1a"],
    HealthCheckType: "EC2",
    CreatedTime: new Date("2026-11-20T09:00:00Z"),
    Tags: [
      { Key: "KubernetesCluster", Value: CLUSTER, PropagateAtLaunch: true },
      { Key: "kops.k8s.io/instancegroup", Value: group, PropagateAtLaunch: true },
      ...Object.entries(labels).map(([k, v]) => ({
        Key: LABEL + k,
        Value: v,
        PropagateAtLaunch: true,
      })),
    ],
  };
}

const DUAL = { canal: "true", cilium: "true" };

/** A healthy stage 2 cluster on AWS, about to go to stage 3; two pages of each list. */
function healthyAws(): void {
  aws.elb
    .on(DescribeLoadBalancersCommand, { Marker: undefined })
    .resolves({
      LoadBalancers: [{ LoadBalancerArn: "arn:lb/svc-1", DNSName: "svc-1.elb.amazonaws.com" }],
      NextMarker: "page2",
    })
    .on(DescribeLoadBalancersCommand, { Marker: "page2" })
    .resolves({ LoadBalancers: [{ LoadBalancerArn: "arn:lb/api", DNSName: API_DNS }] });
  aws.elb.on(DescribeTagsCommand).resolves({
    TagDescriptions: [
      {
        ResourceArn: "arn:lb/svc-1",
        Tags: [{ Key: `kubernetes.io/cluster/${CLUSTER}`, Value: "owned" }],
      },
      {
        ResourceArn: "arn:lb/api",
        Tags: [
          { Key: "KubernetesCluster", Value: CLUSTER },
          { Key: "Name", Value: `api.${CLUSTER}` },
        ],
      },
    ],
  });
  aws.ec2
    .on(DescribeInstancesCommand, { NextToken: undefined })
    .resolves({
      Reservations: [{ Instances: [{ InstanceId: "i-1", SourceDestCheck: false }] }],
      NextToken: "t2",
    })
    .on(DescribeInstancesCommand, { NextToken: "t2" })
    .resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: "i-2",
              SourceDestCheck: false,
              NetworkInterfaces: [{ SourceDestCheck: false }],
            },
          ],
        },
      ],
    });
  aws.asg.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      asgOf("master-us-test-1a", { ...DUAL, "cni-priority": "cilium" }),
      asgOf("nodes", { ...DUAL, "cni-priority": "cilium" }),
      asgOf("ingress", { ...DUAL, "cni-priority": "canal" }),
      asgOf("bastion", {}),
    ],
  });
}

const clients = (): ReturnType<typeof awsClients> => awsClients("us-test-1");

describe("AWS preflight checks, with the SDK clients stubbed", () => {
  before(() => {
    aws = stubAws();
  });
  after(() => restoreAws(aws));
  beforeEach(() => {
    aws.elb.reset();
    aws.ec2.reset();
    aws.asg.reset();
    healthyAws();
  });

  it("pass on a cluster ready for stage 3, reading every page", async () => {
    const results = await runAwsChecks(base, clients());
    expect(results.map((r) => [r.id, r.status, r.note])).to.deep.equal([
      ["aws-api-load-balancer", "pass", `${API_DNS} is the API load balancer ${API_DNS}`],
      ["aws-source-dest-check", "pass", "off on all 2 instances"],
      [
        "aws-asg-label-tags",
        "pass",
        "3 groups tagged as stage 2 (dual, cilium primary) labels them",
      ],
    ]);
    expect(aws.elb.commandCalls(DescribeLoadBalancersCommand)).to.have.length(2);
    expect(aws.ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).to.deep.equal([
      { Name: "tag:KubernetesCluster", Values: [CLUSTER] },
      { Name: "instance-state-name", Values: ["pending", "running"] },
    ]);
  });

  it("fail on another API host, DSR with the check on, and stale group tags", async () => {
    aws.ec2.on(DescribeInstancesCommand, { NextToken: "t2" }).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: "i-2",
              SourceDestCheck: false,
              NetworkInterfaces: [{ SourceDestCheck: true }],
            },
          ],
        },
        { Instances: [{ InstanceId: "i-3", SourceDestCheck: true }] },
      ],
    });
    aws.asg.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        asgOf("nodes", { ...DUAL, "cni-priority": "canal" }),
        asgOf("ingress", DUAL),
      ],
    });
    const results = await runAwsChecks({ ...base, apiServerHost: "10.0.0.10" }, clients());
    expect(results.map((r) => r.status)).to.deep.equal(["fail", "fail", "fail"]);
    expect(results.flatMap((r) => r.findings.map((f) => f.message))).to.deep.equal([
      `\`cni-migration:cilium.apiServerHost\` is 10.0.0.10, but the API load balancer of ${CLUSTER} ` +
        `is ${API_DNS} (also reachable as api.${CLUSTER}); nodes without kube-proxy would not ` +
        `reach the API server. Set it with \`pulumi config set --path cilium.apiServerHost ` +
        `${API_DNS}\`.`,
      `the EC2 source/destination check is on for 2 of 3 instances of ${CLUSTER} (i-2, i-3); ` +
        "Cilium's DSR, on from stage 3, drops replies there. Turn it off on every instance " +
        "(`aws ec2 modify-instance-attribute --instance-id ID --no-source-dest-check`) and on " +
        "the instances the groups launch later.",
      `the autoscaling groups of ${CLUSTER} do not carry the node labels of stage 2 (dual, ` +
        "cilium primary) (nodes node-role.kubernetes.io/cni-priority=canal, want cilium, ingress " +
        "node-role.kubernetes.io/cni-priority=(none), want canal), so the nodes they launch next " +
        "come up with other labels. Run `kops update cluster --yes` so the groups' tags follow " +
        "their specs, then check again.",
    ]);
  });

  it("only warn about the source/destination check the stage before DSR, and not earlier", async () => {
    aws.ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: "i-9", SourceDestCheck: true }] }],
    });
    const at = async (stage: Stage): Promise<[string, string]> => {
      const [, sdc] = await runAwsChecks({ ...base, stage }, clients());
      return [sdc?.status ?? "", sdc?.note ?? ""];
    };
    expect(await at(Stage.DualCiliumPrimary)).to.deep.equal(["warn", ""]);
    expect(await at(Stage.DualCanalPrimary)).to.deep.equal([
      "pass",
      "on for 1 of 1 instances; DSR needs it off from stage 3",
    ]);
  });

  it("accept the API's DNS names, and tell the address to use while it is unset", async () => {
    for (const host of [`api.${CLUSTER}`, `API.internal.${CLUSTER}`]) {
      const [lb] = await runAwsChecks({ ...base, apiServerHost: host }, clients());
      expect(lb?.status).to.equal("pass");
    }
    const [unset] = await runAwsChecks(
      { ...base, stage: Stage.DualCanalPrimary, apiServerHost: undefined },
      clients(),
    );
    expect(unset?.note).to.equal(
      `API load balancer ${API_DNS}; set \`cni-migration:cilium.apiServerHost\` to it before stage 3`,
    );
  });

  it("warn when no API load balancer is tagged for the cluster", async () => {
    aws.elb.on(DescribeTagsCommand).resolves({ TagDescriptions: [] });
    const [lb] = await runAwsChecks(base, clients());
    expect(lb?.findings.map((f) => [f.severity, f.problem])).to.deep.equal([
      [
        "warn",
        `no load balancer tagged KubernetesCluster=${CLUSTER} and Name=api.${CLUSTER} was found, so ` +
          `\`cni-migration:cilium.apiServerHost\` (${API_DNS}) could not be compared with it.`,
      ],
    ]);
  });

  it("turn a refused call into a warning naming the permission", async () => {
    aws.ec2.on(DescribeInstancesCommand).rejects(new Error("UnauthorizedOperation: not allowed"));
    const [, sdc] = await runAwsChecks(base, clients());
    expect(sdc?.status).to.equal("warn");
    expect(sdc?.findings[0]?.message).to.equal(
      "could not list the cluster's instances: UnauthorizedOperation: not allowed. Grant " +
        "ec2:DescribeInstances to the AWS identity in use, or run preflight with `--aws off`.",
    );
  });

  it("skip the tag check when the stage record could not be read", async () => {
    const results = await runAwsChecks({ ...base, appliedStage: "unknown" }, clients());
    expect(results[2]).to.deep.equal({
      id: "aws-asg-label-tags",
      title: "autoscaling group tags carry the node labels",
      status: "skipped",
      note: "skipped (the stage record could not be read)",
      findings: [],
    });
    expect(aws.asg.commandCalls(DescribeAutoScalingGroupsCommand)).to.have.length(0);
  });
});

describe("when the AWS checks run", () => {
  it("finds credentials in the environment or the shared files, and nowhere else", () => {
    const none = (): boolean => false;
    expect(awsCredentialSource({ AWS_PROFILE: "prod", HOME: "/h" }, none)).to.equal("$AWS_PROFILE");
    expect(awsCredentialSource({ HOME: "/h" }, (f) => f === "/h/.aws/credentials")).to.equal(
      "/h/.aws/credentials",
    );
    expect(awsCredentialSource({ HOME: "/h", AWS_CONFIG_FILE: "/c" }, (f) => f === "/c")).to.equal(
      "/c",
    );
    expect(awsCredentialSource({ HOME: "/h", AWS_REGION: "us-east-1" }, none)).to.equal(undefined);
  });

  it("derives the region from the cluster's first subnet zone", () => {
    const cluster = (spec: Record<string, unknown>): KopsObject => ({
      apiVersion: "kops.k8s.io/v1alpha2",
      kind: "Cluster",
      metadata: { name: CLUSTER },
      spec,
    });
    expect(regionOf(cluster({ subnets: [{ zone: "us-test-1a" }] }))).to.equal("us-test-1");
    expect(regionOf(cluster({ networking: { subnets: [{ zone: "eu-west-3c" }] } }))).to.equal(
      "eu-west-3",
    );
    expect(regionOf(cluster({}))).to.equal(undefined);
  });

  it("reports each check as skipped with the reason", () => {
    expect(
      skippedAwsChecks("no AWS credentials").map((r) => [r.id, r.status, r.note]),
    ).to.deep.equal([
      ["aws-api-load-balancer", "skipped", "skipped (no AWS credentials)"],
      ["aws-source-dest-check", "skipped", "skipped (no AWS credentials)"],
      ["aws-asg-label-tags", "skipped", "skipped (no AWS credentials)"],
    ]);
  });
});
