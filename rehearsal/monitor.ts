/**
 * The rehearsal's continuous check of the design's safety invariants, run every interval while
 * the program applies a stage and kops replaces nodes. A CNI counts as present on a node while
 * its DaemonSet selects the node (an agent restarting during an upgrade keeps the node's
 * datapath); a node that joined less than `graceSeconds` ago is still joining (a real node is
 * NotReady until its CNI has written its config, which kwok does not simulate), and so is one the
 * kops simulator is still booting (its static pods not yet created). kube-proxy is a
 * static pod: it counts while its mirror pod is on the node.
 */
import { FROM_CACHE, Kube, listAllNodes } from "../cli/kube";
import { NamedRange, overlapping } from "../lib/cidr";
import {
  CANAL_DAEMONSET,
  CANAL_LABEL,
  CILIUM_LABEL,
  KUBE_SYSTEM,
  MULTUS_CANAL_PRIMARY_DAEMONSET,
  MULTUS_CILIUM_PRIMARY_DAEMONSET,
  PRIORITY_LABEL,
} from "../lib/labels";
import { NODE_STATES, NodeState, assessNode } from "../lib/node-state";
import { NodeConfigLike, PodLike, nodeRuntimes } from "../lib/snapshot";
import { Stage } from "../lib/stage";
import { BOOTING_ANNOTATION } from "./sim-nodes";

const KUBE_PROXY_SELECTOR = "k8s-app=kube-proxy";

export type Invariant =
  | "1-one-primary-network"
  | "2-one-service-proxy"
  | "3-multus-selectors"
  | "4-cilium-pool-disjoint"
  | "5-ingress-canal-primary"
  | "6-stage-order"
  | "7-no-deletion-in-use";

export interface Violation {
  readonly invariant: Invariant;
  readonly node: string;
  /** ISO time of the first sighting. */
  readonly at: string;
  readonly detail: string;
}

export type Sample = { readonly at: number; readonly stage: Stage } & Record<
  NodeState | "joining",
  number
>;

export interface MonitorOptions {
  readonly ingressGroups: readonly string[];
  readonly graceSeconds: number;
}

const selects = (
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean => selector !== undefined && Object.entries(selector).every(([k, v]) => labels[k] === v);

export class InvariantMonitor {
  stage: Stage = Stage.Prepare;
  /** The kops ranges the pool must stay out of (podCIDR, services, VPC), once known. */
  clusterRanges: readonly NamedRange[] = [];
  checks = 0;
  readonly violations: Violation[] = [];
  readonly samples: Sample[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly kube: Kube,
    private readonly opts: MonitorOptions,
  ) {}

  private report(invariant: Invariant, node: string, detail: string): void {
    const key = `${this.stage}|${invariant}|${node}|${detail}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.violations.push({
      invariant,
      node,
      at: new Date().toISOString(),
      detail: `stage ${this.stage}: ${detail}`,
    });
  }

  private async nodeConfigs(): Promise<NodeConfigLike[]> {
    try {
      const list = (await this.kube.custom.listClusterCustomObject({
        group: "cilium.io",
        version: "v2",
        plural: "ciliumnodeconfigs",
      })) as { items?: NodeConfigLike[] };
      return list.items ?? [];
    } catch {
      return [];
    }
  }

  /** One pass over the cluster; returns the violations it added. */
  async checkOnce(): Promise<number> {
    const before = this.violations.length;
    const [nodes, pods, configs, daemonSets] = await Promise.all([
      listAllNodes(this.kube, { fromCache: true }),
      // Only kube-proxy's mirror pods count; the CNIs count by DaemonSet selection.
      this.kube.core
        .listNamespacedPod({
          namespace: KUBE_SYSTEM,
          labelSelector: KUBE_PROXY_SELECTOR,
          ...FROM_CACHE,
        })
        .then((l) => l.items),
      this.nodeConfigs(),
      this.kube.apps.listNamespacedDaemonSet({ namespace: KUBE_SYSTEM, ...FROM_CACHE }),
    ]);
    let ciliumConfig: Record<string, string> | undefined;
    try {
      ciliumConfig = (
        await this.kube.core.readNamespacedConfigMap({
          name: "cilium-config",
          namespace: KUBE_SYSTEM,
        })
      ).data;
    } catch {
      ciliumConfig = undefined;
    }
    // A CNI is on a node while its DaemonSet selects the node: a pod restarting in a rollout
    // keeps the node's datapath, while a selector that stops matching takes the CNI away.
    const running = { phase: "Running", conditions: [{ type: "Ready", status: "True" }] };
    const present: PodLike[] = [
      ...pods
        .filter((p) => p.metadata?.labels?.["k8s-app"] === "kube-proxy" && p.spec?.nodeName)
        .map((p) => ({
          metadata: { labels: p.metadata?.labels ?? {} },
          spec: { nodeName: p.spec?.nodeName },
          status: running,
        })),
      ...nodes.flatMap((n) =>
        daemonSets.items
          .filter((d) =>
            selects(d.spec?.template.spec?.nodeSelector ?? {}, n.metadata?.labels ?? {}),
          )
          .map((d) => ({
            metadata: { labels: d.spec?.template.metadata?.labels ?? {} },
            spec: { nodeName: n.metadata?.name ?? "" },
            status: running,
          })),
      ),
    ];
    const booting = new Set(
      nodes
        .filter((n) => n.metadata?.annotations?.[BOOTING_ANNOTATION])
        .map((n) => n.metadata?.name),
    );
    const runtimes = nodeRuntimes({ nodes, pods: present, ciliumConfig, nodeConfigs: configs });
    const now = Date.now();
    const counts = Object.fromEntries([...NODE_STATES, "joining"].map((s) => [s, 0])) as Record<
      NodeState | "joining",
      number
    >;
    const ds = new Map(daemonSets.items.map((d) => [d.metadata?.name ?? "", d]));
    const multusCanal = ds.get(MULTUS_CANAL_PRIMARY_DAEMONSET)?.spec?.template.spec?.nodeSelector;
    const multusCilium = ds.get(MULTUS_CILIUM_PRIMARY_DAEMONSET)?.spec?.template.spec?.nodeSelector;
    const pool = ciliumConfig?.["cluster-pool-ipv4-cidr"];

    for (const r of runtimes) {
      const labels = { ...r.labels };
      if (
        multusCanal &&
        multusCilium &&
        selects(multusCanal, labels) &&
        selects(multusCilium, labels)
      ) {
        this.report("3-multus-selectors", r.name, "both Multus DaemonSets select this node");
      }
      for (const [name, sel] of [
        [MULTUS_CANAL_PRIMARY_DAEMONSET, multusCanal],
        [MULTUS_CILIUM_PRIMARY_DAEMONSET, multusCilium],
      ] as const) {
        if (
          selects(sel, labels) &&
          !(labels[CANAL_LABEL] === "true" && labels[CILIUM_LABEL] === "true")
        ) {
          this.report("3-multus-selectors", r.name, `${name} selects a node that is not dual`);
        }
      }
      if (!ds.has(CANAL_DAEMONSET) && labels[CANAL_LABEL] === "true") {
        this.report(
          "7-no-deletion-in-use",
          r.name,
          "the canal DaemonSet is gone but the node is labelled canal",
        );
      }
      if (
        !ds.has(MULTUS_CANAL_PRIMARY_DAEMONSET) &&
        !ds.has(MULTUS_CILIUM_PRIMARY_DAEMONSET) &&
        labels[PRIORITY_LABEL] !== undefined
      ) {
        this.report(
          "7-no-deletion-in-use",
          r.name,
          "Multus is gone but the node still has a cni-priority",
        );
      }
      if (pool !== undefined) {
        const clash = overlapping(
          pool,
          r.podCIDRs.map((c) => ({ cidr: c, what: "podCIDR" })),
        );
        if (clash.length > 0)
          this.report(
            "4-cilium-pool-disjoint",
            r.name,
            `node podCIDR ${clash[0]?.cidr} overlaps the Cilium pool ${pool}`,
          );
      }
      const joining =
        booting.has(r.name) ||
        (r.createdAt !== undefined && now - r.createdAt < this.opts.graceSeconds * 1000);
      if (joining) {
        counts.joining++;
        continue;
      }
      const a = assessNode(r);
      counts[a.state]++;
      if (a.primaries.length !== 1) {
        this.report(
          "1-one-primary-network",
          r.name,
          `${a.primaries.length} primary networks (${a.problems.join("; ")})`,
        );
      } else if (a.problems.some((p) => p.startsWith("dual node without Multus"))) {
        this.report(
          "1-one-primary-network",
          r.name,
          "dual node without Multus: pods get Cilium alone",
        );
      }
      if (a.proxies.length !== 1) {
        this.report(
          "2-one-service-proxy",
          r.name,
          a.proxies.length === 0 ? "no service proxy" : "kube-proxy and Cilium KPR both run",
        );
      }
      if (
        this.stage < Stage.CiliumKpr &&
        this.opts.ingressGroups.includes(r.instanceGroup) &&
        a.primaries[0] === "cilium"
      ) {
        this.report(
          "5-ingress-canal-primary",
          r.name,
          "an ingress node is Cilium-primary before stage 3",
        );
      }
    }
    if (pool !== undefined) {
      for (const c of overlapping(pool, this.clusterRanges)) {
        this.report(
          "4-cilium-pool-disjoint",
          "-",
          `the Cilium pool ${pool} overlaps ${c.what} ${c.cidr}`,
        );
      }
    }
    this.checks++;
    this.samples.push({ at: now, stage: this.stage, ...counts });
    return this.violations.length - before;
  }

  /** Records a violation found outside the polling loop (e.g. by the promotion gates). */
  record(invariant: Invariant, node: string, detail: string): void {
    this.report(invariant, node, detail);
  }

  /** Checks every `intervalMs` until the returned stop function is called. */
  start(intervalMs: number, onError: (e: Error) => void): () => Promise<void> {
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          await this.checkOnce();
        } catch (e) {
          onError(e as Error);
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
    return async () => {
      running = false;
      await loop;
    };
  }
}
