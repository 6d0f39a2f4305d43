/**
 * Preflight checks that need AWS: the API load balancer that `cilium.apiServerHost` must name,
 * the EC2 source/destination check that DSR needs off, and the autoscaling group tags through
 * which instance-group node labels reach new nodes. They run only with AWS credentials; without
 * them each is reported as skipped. Read-only: Describe calls, paginated.
 */
import { AutoScalingClient, paginateDescribeAutoScalingGroups } from "@aws-sdk/client-auto-scaling";
import { EC2Client, paginateDescribeInstances } from "@aws-sdk/client-ec2";
import {
  DescribeTagsCommand,
  ElasticLoadBalancingV2Client,
  paginateDescribeLoadBalancers,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KopsObject, groupRef } from "./kops";
import { AUTOSCALER_LABEL_TAG_PREFIX, OWNED_NODE_LABELS } from "./labels";
import { desiredNodeLabels, groupKind } from "./plan";
import { CheckResult, Finding, checkStatus } from "./preflight";
import { Stage, describeStage } from "./stage";

/** The tag kops puts on every AWS resource of a cluster, valued with the cluster name. */
export const CLUSTER_TAG = "KubernetesCluster";
/** The tag kops puts on each autoscaling group naming its instance group. */
export const INSTANCE_GROUP_TAG = "kops.k8s.io/instancegroup";

export interface AwsClients {
  readonly ec2: EC2Client;
  readonly autoScaling: AutoScalingClient;
  readonly elb: ElasticLoadBalancingV2Client;
}

export interface AwsCheckInput {
  readonly clusterName: string;
  /** The stage being checked. */
  readonly stage: Stage;
  /**
   * The stage the cluster records as applied, whose labels the groups' tags carry; undefined
   * before stage 0, `unknown` when the record could not be read (the tags are then not checked).
   */
  readonly appliedStage: Stage | undefined | "unknown";
  readonly apiServerHost: string | undefined;
  readonly ingressGroups: readonly string[];
  readonly groups: readonly KopsObject[];
}

const CHECKS = {
  lb: { id: "aws-api-load-balancer", title: "cilium.apiServerHost names the API load balancer" },
  sdc: { id: "aws-source-dest-check", title: "EC2 source/destination check off for DSR" },
  tags: { id: "aws-asg-label-tags", title: "autoscaling group tags carry the node labels" },
};

/**
 * Where AWS credentials come from, when they are configured: the environment, or the shared
 * files. Instance roles are not probed (`--aws on` uses the SDK's whole chain).
 */
export function awsCredentialSource(
  env: NodeJS.ProcessEnv,
  exists: (file: string) => boolean = fs.existsSync,
): string | undefined {
  for (const v of [
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  ]) {
    if (env[v]) return `$${v}`;
  }
  const home = env.HOME ?? os.homedir();
  for (const file of [
    env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(home, ".aws", "credentials"),
    env.AWS_CONFIG_FILE ?? path.join(home, ".aws", "config"),
  ]) {
    if (exists(file)) return file;
  }
  return undefined;
}

/** The region of a kops cluster, from the zone of its first subnet (`us-east-1a`). */
export function regionOf(cluster: KopsObject): string | undefined {
  const spec = cluster.spec as {
    subnets?: { zone?: string }[];
    networking?: { subnets?: { zone?: string }[] };
  };
  const zone = (spec.networking?.subnets ?? spec.subnets ?? [])[0]?.zone;
  return zone === undefined ? undefined : /^([a-z]+-[a-z-]+-\d+)[a-z]$/.exec(zone)?.[1];
}

export function awsClients(region: string): AwsClients {
  return {
    ec2: new EC2Client({ region }),
    autoScaling: new AutoScalingClient({ region }),
    elb: new ElasticLoadBalancingV2Client({ region }),
  };
}

function result(check: { id: string; title: string }, out: Finding[] | string): CheckResult {
  const findings = typeof out === "string" ? [] : out;
  return {
    ...check,
    status: checkStatus(findings),
    note: typeof out === "string" ? out : "",
    findings,
  };
}

/** Every AWS check reported as skipped, with the reason, e.g. `no AWS credentials`. */
export function skippedAwsChecks(reason: string): CheckResult[] {
  return Object.values(CHECKS).map((c) => ({
    ...c,
    status: "skipped",
    note: `skipped (${reason})`,
    findings: [],
  }));
}

function finding(severity: Finding["severity"], problem: string, fix: string): Finding {
  return { severity, problem, fix, message: `${problem} ${fix}` };
}

/** A failed AWS call makes its check a warning that names the permission it needs. */
function callFailed(e: unknown, what: string, permission: string): Finding[] {
  return [
    finding(
      "warn",
      `could not ${what}: ${(e as Error).message}.`,
      `Grant ${permission} to the AWS identity in use, or run preflight with \`--aws off\`.`,
    ),
  ];
}

const MAX_LISTED = 10;
const listed = (xs: readonly string[]): string =>
  xs.slice(0, MAX_LISTED).join(", ") +
  (xs.length > MAX_LISTED ? ` and ${xs.length - MAX_LISTED} more` : "");

async function apiLoadBalancer(
  i: AwsCheckInput,
  elb: ElasticLoadBalancingV2Client,
): Promise<Finding[] | string> {
  const name = `api.${i.clusterName}`;
  const lbs: { arn: string; dns: string }[] = [];
  for await (const page of paginateDescribeLoadBalancers({ client: elb }, { PageSize: 400 })) {
    for (const lb of page.LoadBalancers ?? []) {
      if (lb.LoadBalancerArn && lb.DNSName) lbs.push({ arn: lb.LoadBalancerArn, dns: lb.DNSName });
    }
  }
  let api: { arn: string; dns: string } | undefined;
  for (let k = 0; k < lbs.length && api === undefined; k += 20) {
    const batch = lbs.slice(k, k + 20);
    const tags = await elb.send(new DescribeTagsCommand({ ResourceArns: batch.map((b) => b.arn) }));
    for (const d of tags.TagDescriptions ?? []) {
      const t = new Map((d.Tags ?? []).map((x) => [x.Key, x.Value]));
      const ours =
        t.get(CLUSTER_TAG) === i.clusterName ||
        t.get(`kubernetes.io/cluster/${i.clusterName}`) === "owned";
      if (ours && t.get("Name") === name) {
        api = batch.find((b) => b.arn === d.ResourceArn);
      }
    }
  }
  const host = i.apiServerHost;
  if (api === undefined) {
    return [
      finding(
        "warn",
        `no load balancer tagged ${CLUSTER_TAG}=${i.clusterName} and Name=${name} was found, so ` +
          `\`cni-migration:cilium.apiServerHost\` (${host ?? "unset"}) could not be compared with it.`,
        "Make sure it names an address of the API servers that every node reaches without kube-proxy.",
      ),
    ];
  }
  const accepted = [api.dns, name, `api.internal.${i.clusterName}`].map((h) => h.toLowerCase());
  if (host === undefined) {
    return `API load balancer ${api.dns}; set \`cni-migration:cilium.apiServerHost\` to it before stage 3`;
  }
  if (!accepted.includes(host.toLowerCase())) {
    return [
      finding(
        "fail",
        `\`cni-migration:cilium.apiServerHost\` is ${host}, but the API load balancer of ` +
          `${i.clusterName} is ${api.dns} (also reachable as ${name}); nodes without kube-proxy ` +
          `would not reach the API server.`,
        `Set it with \`pulumi config set --path cilium.apiServerHost ${api.dns}\`.`,
      ),
    ];
  }
  return `${host} is the API load balancer ${api.dns}`;
}

async function sourceDestCheck(i: AwsCheckInput, ec2: EC2Client): Promise<Finding[] | string> {
  const checked: string[] = [];
  let total = 0;
  const filters = [
    { Name: `tag:${CLUSTER_TAG}`, Values: [i.clusterName] },
    { Name: "instance-state-name", Values: ["pending", "running"] },
  ];
  for await (const page of paginateDescribeInstances(
    { client: ec2 },
    { Filters: filters, MaxResults: 1000 },
  )) {
    for (const r of page.Reservations ?? []) {
      for (const inst of r.Instances ?? []) {
        total++;
        const on =
          inst.SourceDestCheck === true ||
          (inst.NetworkInterfaces ?? []).some((n) => n.SourceDestCheck === true);
        if (on) checked.push(inst.InstanceId ?? "?");
      }
    }
  }
  if (checked.length === 0) return `off on all ${total} instances`;
  const problem =
    `the EC2 source/destination check is on for ${checked.length} of ${total} instances of ` +
    `${i.clusterName} (${listed(checked)}); Cilium's DSR, on from stage 3, drops replies there.`;
  const fix =
    "Turn it off on every instance (`aws ec2 modify-instance-attribute --instance-id ID " +
    "--no-source-dest-check`) and on the instances the groups launch later.";
  if (i.stage >= Stage.CiliumKpr) return [finding("fail", problem, fix)];
  if (i.stage === Stage.DualCiliumPrimary) return [finding("warn", problem, fix)];
  return `on for ${checked.length} of ${total} instances; DSR needs it off from stage 3`;
}

async function asgLabelTags(
  i: AwsCheckInput & { appliedStage: Stage | undefined },
  asg: AutoScalingClient,
): Promise<Finding[] | string> {
  const refs = i.groups.map(groupRef);
  const wrong: string[] = [];
  let seen = 0;
  const filters = [{ Name: `tag:${CLUSTER_TAG}`, Values: [i.clusterName] }];
  for await (const page of paginateDescribeAutoScalingGroups(
    { client: asg },
    { Filters: filters, MaxRecords: 100 },
  )) {
    for (const g of page.AutoScalingGroups ?? []) {
      const tags = new Map((g.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
      const ref = refs.find((r) => r.name === tags.get(INSTANCE_GROUP_TAG));
      if (ref === undefined) continue;
      const kind = groupKind(ref, i.ingressGroups);
      if (kind === "bastion") continue;
      seen++;
      const want =
        i.appliedStage === undefined ? {} : desiredNodeLabels(i.appliedStage, kind === "ingress");
      for (const label of OWNED_NODE_LABELS) {
        const have = tags.get(AUTOSCALER_LABEL_TAG_PREFIX + label);
        if (have !== want[label]) {
          wrong.push(`${ref.name} ${label}=${have ?? "(none)"}, want ${want[label] ?? "(none)"}`);
        }
      }
    }
  }
  const applied = i.appliedStage === undefined ? "before stage 0" : describeStage(i.appliedStage);
  if (wrong.length === 0) return `${seen} groups tagged as ${applied} labels them`;
  return [
    finding(
      "fail",
      `the autoscaling groups of ${i.clusterName} do not carry the node labels of ${applied} ` +
        `(${listed(wrong)}), so the nodes they launch next come up with other labels.`,
      "Run `kops update cluster --yes` so the groups' tags follow their specs, then check again.",
    ),
  ];
}

/** Runs the AWS checks with the given clients; each failed call turns its check into a warning. */
export async function runAwsChecks(i: AwsCheckInput, clients: AwsClients): Promise<CheckResult[]> {
  const guard = async (
    run: () => Promise<Finding[] | string>,
    what: string,
    permission: string,
  ): Promise<Finding[] | string> => {
    try {
      return await run();
    } catch (e) {
      return callFailed(e, what, permission);
    }
  };
  const applied = i.appliedStage;
  const [lb, sdc, tags] = await Promise.all([
    guard(
      () => apiLoadBalancer(i, clients.elb),
      "list the load balancers",
      "elasticloadbalancing:DescribeLoadBalancers and DescribeTags",
    ),
    guard(
      () => sourceDestCheck(i, clients.ec2),
      "list the cluster's instances",
      "ec2:DescribeInstances",
    ),
    applied === "unknown"
      ? undefined
      : guard(
          () => asgLabelTags({ ...i, appliedStage: applied }, clients.autoScaling),
          "list the autoscaling groups",
          "autoscaling:DescribeAutoScalingGroups",
        ),
  ]);
  return [
    result(CHECKS.lb, lb),
    result(CHECKS.sdc, sdc),
    tags === undefined
      ? {
          ...CHECKS.tags,
          status: "skipped",
          note: "skipped (the stage record could not be read)",
          findings: [],
        }
      : result(CHECKS.tags, tags),
  ];
}
