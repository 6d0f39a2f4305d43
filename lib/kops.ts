/**
 * Reading and changing kops specs through the kops CLI. The program changes only the fields the
 * migration owns (the cluster's CNI and kube-proxy switch, and the migration's node labels of
 * each instance group) and writes every other field back exactly as kops printed it.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { AUTOSCALER_LABEL_TAG_PREFIX, OWNED_NODE_LABELS } from "./labels";
import { GroupRef, desiredNodeLabels, groupKind, kubeProxyDisabled } from "./plan";
import { Stage } from "./stage";

/** A kops API object as `kops get -o yaml` prints it. */
export interface KopsObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: unknown };
  spec: Record<string, unknown>;
  [k: string]: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses the YAML stream kops prints; `source` names it in errors (e.g. the command line). */
export function parseKopsObjects(text: string, source: string): KopsObject[] {
  const docs = YAML.parseAllDocuments(text);
  const out: KopsObject[] = [];
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) {
      throw new Error(
        `${source} printed YAML that does not parse (document ${i + 1}): ${doc.errors[0]?.message}`,
      );
    }
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    const items =
      isRecord(v) && v.kind === "List" && Array.isArray(v.items) ? (v.items as unknown[]) : [v];
    for (const item of items) {
      if (
        !isRecord(item) ||
        typeof item.kind !== "string" ||
        !isRecord(item.metadata) ||
        typeof item.metadata.name !== "string" ||
        !isRecord(item.spec)
      ) {
        throw new Error(
          `${source} printed a document without kind, metadata.name and spec (document ${i + 1}); ` +
            `is the kops binary a real kops and the cluster name right?`,
        );
      }
      out.push(item as KopsObject);
    }
  }
  return out;
}

/** The facts about a cluster that the plan and preflight use, with kops's defaults filled in. */
export interface ClusterFacts {
  readonly name: string;
  readonly kubernetesVersion: string;
  /** The keys of `spec.networking` that name a CNI, e.g. ["canal"] or ["cni"]. */
  readonly networking: readonly string[];
  readonly podCIDR: string;
  readonly serviceClusterIPRange: string;
  readonly nonMasqueradeCIDR: string;
  readonly networkCIDR: string | undefined;
  readonly kubeProxyEnabled: boolean;
  /** `spec.api.loadBalancer.sslCertificate` is set, so the API listens on 8443. */
  readonly apiLoadBalancerSsl: boolean;
}

/** kops's defaults for clusters that leave these ranges unset. */
export const KOPS_DEFAULTS = {
  nonMasqueradeCIDR: "100.64.0.0/10",
  serviceClusterIPRange: "100.64.0.0/13",
  podCIDR: "100.96.0.0/11",
};

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

export function clusterFacts(cluster: KopsObject): ClusterFacts {
  const s = cluster.spec;
  const networking = isRecord(s.networking) ? s.networking : {};
  const kubeProxy = isRecord(s.kubeProxy) ? s.kubeProxy : {};
  const api = isRecord(s.api) ? s.api : {};
  const lb = isRecord(api.loadBalancer) ? api.loadBalancer : {};
  const cniKeys = Object.keys(networking).filter(
    (k) =>
      ![
        "networkCIDR",
        "networkID",
        "subnets",
        "topology",
        "nonMasqueradeCIDR",
        "podCIDR",
        "serviceClusterIPRange",
        "tagSubnets",
        "additionalNetworkCIDRs",
        "egressProxy",
        "isolateControlPlane",
      ].includes(k),
  );
  return {
    name: cluster.metadata.name,
    kubernetesVersion: str(s.kubernetesVersion) ?? "",
    networking: cniKeys,
    podCIDR: str(s.podCIDR) ?? str(networking.podCIDR) ?? KOPS_DEFAULTS.podCIDR,
    serviceClusterIPRange:
      str(s.serviceClusterIPRange) ??
      str(networking.serviceClusterIPRange) ??
      KOPS_DEFAULTS.serviceClusterIPRange,
    nonMasqueradeCIDR:
      str(s.nonMasqueradeCIDR) ??
      str(networking.nonMasqueradeCIDR) ??
      KOPS_DEFAULTS.nonMasqueradeCIDR,
    networkCIDR: str(s.networkCIDR) ?? str(networking.networkCIDR),
    kubeProxyEnabled: kubeProxy.enabled !== false,
    apiLoadBalancerSsl: str(lb.sslCertificate) !== undefined,
  };
}

export function groupRef(ig: KopsObject): GroupRef {
  return { name: ig.metadata.name, role: str(ig.spec.role) ?? "Node" };
}

const clone = <T>(v: T): T => structuredClone(v);

/** The cluster spec as the stage wants it: `networking: {cni: {}}`, kube-proxy off from stage 3. */
export function desiredClusterSpec(cluster: KopsObject, stage: Stage): KopsObject {
  const next = clone(cluster);
  const networking = isRecord(next.spec.networking) ? next.spec.networking : {};
  delete networking.canal;
  networking.cni = isRecord(networking.cni) ? networking.cni : {};
  next.spec.networking = networking;
  if (kubeProxyDisabled(stage)) {
    const kubeProxy = isRecord(next.spec.kubeProxy) ? next.spec.kubeProxy : {};
    kubeProxy.enabled = false;
    next.spec.kubeProxy = kubeProxy;
  }
  return next;
}

/** Replaces the migration-owned keys of a label map by `desired`, keeping every other key. */
function withOwnedLabels(
  current: unknown,
  desired: Record<string, string>,
  prefix: string,
): Record<string, string> | undefined {
  const labels: Record<string, string> = isRecord(current)
    ? (clone(current) as Record<string, string>)
    : {};
  for (const k of OWNED_NODE_LABELS) delete labels[prefix + k];
  for (const [k, v] of Object.entries(desired)) labels[prefix + k] = v;
  return Object.keys(labels).length > 0 ? labels : undefined;
}

/**
 * The instance group as the stage wants it: the migration's node labels for its kind, and the
 * same labels as cluster-autoscaler node-template cloud labels where the group already uses
 * those. Bastions are returned unchanged.
 */
export function desiredInstanceGroupSpec(
  ig: KopsObject,
  stage: Stage,
  ingressGroups: readonly string[],
): KopsObject {
  const kind = groupKind(groupRef(ig), ingressGroups);
  if (kind === "bastion") return ig;
  const desired = desiredNodeLabels(stage, kind === "ingress");
  const next = clone(ig);
  const setOrDelete = (field: string, v: Record<string, string> | undefined): void => {
    if (v === undefined) delete next.spec[field];
    else next.spec[field] = v;
  };
  setOrDelete("nodeLabels", withOwnedLabels(next.spec.nodeLabels, desired, ""));
  const cloudLabels = next.spec.cloudLabels;
  if (
    isRecord(cloudLabels) &&
    Object.keys(cloudLabels).some((k) => k.startsWith(AUTOSCALER_LABEL_TAG_PREFIX))
  ) {
    setOrDelete("cloudLabels", withOwnedLabels(cloudLabels, desired, AUTOSCALER_LABEL_TAG_PREFIX));
  }
  return next;
}

/** Lines describing what differs between two label maps of a spec field, for logs. */
export function describeChanges(before: KopsObject, after: KopsObject): string[] {
  const changes: string[] = [];
  const walk = (a: unknown, b: unknown, at: string): void => {
    if (isRecord(a) && isRecord(b)) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
        walk(a[k], b[k], at ? `${at}.${k}` : k);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      changes.push(
        `${at}: ${a === undefined ? "(unset)" : JSON.stringify(a)} -> ${b === undefined ? "(unset)" : JSON.stringify(b)}`,
      );
    }
  };
  walk(before.spec, after.spec, "spec");
  return changes;
}

/** The kops CLI for one cluster and state store. */
export class KopsCli {
  constructor(
    readonly binary: string,
    readonly clusterName: string,
    readonly stateStore: string,
  ) {}

  private run(args: string[], input?: string): string {
    const argv = [...args, "--name", this.clusterName, "--state", this.stateStore];
    try {
      return execFileSync(this.binary, argv, {
        encoding: "utf8",
        input,
        stdio: ["pipe", "pipe", "pipe"],
        maxBuffer: 256 * 1024 * 1024,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string; status?: number };
      if (err.code === "ENOENT") {
        throw new Error(
          `the kops binary \`${this.binary}\` was not found. Install kops (< 1.34) or set ` +
            `\`cni-migration:kopsBinary\` to its path.`,
        );
      }
      throw new Error(
        `\`${this.binary} ${argv.join(" ")}\` failed (exit ${err.status ?? "?"}): ` +
          `${(err.stderr ?? err.message).trim()}`,
      );
    }
  }

  /** The kops client version, e.g. `1.33.2`. */
  version(): string {
    const out = this.run(["version"]);
    const m = /(\d+\.\d+\.\d+)/.exec(out);
    if (!m)
      throw new Error(
        `\`${this.binary} version\` printed no version: ${JSON.stringify(out.trim())}`,
      );
    return m[1];
  }

  getCluster(): KopsObject {
    const source = `\`${this.binary} get cluster\``;
    const objs = parseKopsObjects(this.run(["get", "cluster", "-o", "yaml"]), source).filter(
      (o) => o.kind === "Cluster",
    );
    const found = objs[0];
    if (objs.length !== 1 || found === undefined) {
      throw new Error(
        `${source} printed ${objs.length} Cluster objects for ${this.clusterName}; expected 1.`,
      );
    }
    return found;
  }

  getInstanceGroups(): KopsObject[] {
    return parseKopsObjects(
      this.run(["get", "instancegroups", "-o", "yaml"]),
      `\`${this.binary} get instancegroups\``,
    ).filter((o) => o.kind === "InstanceGroup");
  }

  /** Writes a whole object back with `kops replace -f`. */
  replace(obj: KopsObject): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-kops-"));
    const file = path.join(dir, `${obj.kind}-${obj.metadata.name}.yaml`);
    try {
      fs.writeFileSync(file, YAML.stringify(obj));
      this.run(["replace", "-f", file]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
