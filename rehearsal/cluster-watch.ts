/**
 * Watched copies of a simulated cluster's nodes, pods and DaemonSets, for the kops simulator's
 * validation loop. A LIST of every pod twice a second is what kept the API server of a 750-node
 * rehearsal busiest; a watch costs it one LIST and then only the changes.
 */
import type * as k8s from "@kubernetes/client-node";

/** The objects kops's validation rules look at. */
export interface ClusterObjects {
  readonly nodes: readonly k8s.V1Node[];
  readonly pods: readonly k8s.V1Pod[];
  readonly daemonSets: readonly k8s.V1DaemonSet[];
}

/** A source of {@link ClusterObjects}: a watch, or one LIST per read. */
export interface ClusterSource {
  /** The objects now; rejects when the source has lost the cluster. */
  read(): Promise<ClusterObjects>;
  stop(): Promise<void>;
}

/** How long a failed watch waits before it lists and watches again. */
const RESTART_MS = 1000;

class Watched<T extends k8s.KubernetesObject> {
  private broken: Error | undefined;
  private stopped = false;
  private readonly informer: k8s.ListWatch<T>;

  constructor(
    lib: typeof k8s,
    kc: k8s.KubeConfig,
    private readonly what: string,
    path: string,
    list: () => Promise<k8s.KubernetesListObject<T>>,
  ) {
    this.informer = new lib.ListWatch<T>(path, new lib.Watch(kc), list, false);
    this.informer.on("error", (e?: unknown) => {
      this.broken = e instanceof Error ? e : new Error(String(e));
      if (!this.stopped) setTimeout(() => void this.restart(), RESTART_MS);
    });
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    const before = this.broken;
    await this.informer.start();
    // start() reports a failed LIST through the error callback, which schedules another try.
    if (this.broken === before) this.broken = undefined;
  }

  async start(): Promise<void> {
    await this.informer.start();
    if (this.broken) throw new Error(`cannot watch ${this.what}: ${this.broken.message}`);
  }

  items(): readonly T[] {
    if (this.broken) throw new Error(`lost the watch of ${this.what}: ${this.broken.message}`);
    return this.informer.list();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
  }
}

/** Lists nodes, pods and DaemonSets of every namespace, and watches them until stopped. */
export async function watchCluster(kubeconfig: string): Promise<ClusterSource> {
  const lib = await import("@kubernetes/client-node");
  const kc = new lib.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(lib.CoreV1Api);
  const apps = kc.makeApiClient(lib.AppsV1Api);
  const nodes = new Watched<k8s.V1Node>(lib, kc, "nodes", "/api/v1/nodes", () => core.listNode());
  const pods = new Watched<k8s.V1Pod>(lib, kc, "pods", "/api/v1/pods", () =>
    core.listPodForAllNamespaces(),
  );
  const daemonSets = new Watched<k8s.V1DaemonSet>(
    lib,
    kc,
    "DaemonSets",
    "/apis/apps/v1/daemonsets",
    () => apps.listDaemonSetForAllNamespaces(),
  );
  const all = [nodes, pods, daemonSets];
  try {
    await Promise.all(all.map((w) => w.start()));
  } catch (e) {
    await Promise.all(all.map((w) => w.stop()));
    throw e;
  }
  return {
    read: () =>
      Promise.resolve().then(() => ({
        nodes: nodes.items(),
        pods: pods.items(),
        daemonSets: daemonSets.items(),
      })),
    stop: async () => {
      await Promise.all(all.map((w) => w.stop()));
    },
  };
}
