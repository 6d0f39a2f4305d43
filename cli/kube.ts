/** The Kubernetes API as the CLI uses it: the user's kubeconfig and current context. */
import type * as k8sTypes from "@kubernetes/client-node";

export interface Kube {
  readonly k8s: typeof k8sTypes;
  readonly core: k8sTypes.CoreV1Api;
  readonly apps: k8sTypes.AppsV1Api;
  readonly ext: k8sTypes.ApiextensionsV1Api;
  readonly custom: k8sTypes.CustomObjectsApi;
}

/** Connects with the user's kubeconfig and current context. */
export function connect(): Promise<Kube> {
  return connectTo(undefined);
}

/** Connects with a kubeconfig file, or the default one (KUBECONFIG, ~/.kube/config). */
export async function connectTo(kubeconfig: string | undefined): Promise<Kube> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  if (kubeconfig === undefined) kc.loadFromDefault();
  else kc.loadFromFile(kubeconfig);
  return {
    k8s,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    ext: kc.makeApiClient(k8s.ApiextensionsV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
  };
}

/**
 * `resourceVersion: "0"`: a LIST served from the API server's watch cache, which may lag a write
 * by milliseconds, instead of a quorum read that decodes every object from etcd. For loops that
 * poll a large cluster every second or so, where that cost would load the API server.
 */
export const FROM_CACHE = { resourceVersion: "0" } as const;

/**
 * Every node, by paginated LIST: a quorum read, or with `fromCache` the API server's watch cache
 * (see FROM_CACHE; the cache answers in one page).
 */
export async function listAllNodes(
  kube: Kube,
  opts: { fromCache?: boolean } = {},
): Promise<k8sTypes.V1Node[]> {
  if (opts.fromCache) return (await kube.core.listNode(FROM_CACHE)).items;
  const nodes: k8sTypes.V1Node[] = [];
  let token: string | undefined;
  do {
    const page = await kube.core.listNode({ limit: 500, _continue: token });
    nodes.push(...page.items);
    token = page.metadata?._continue || undefined;
  } while (token !== undefined);
  return nodes;
}

export function isNotFound(e: unknown): boolean {
  return (e as { code?: number }).code === 404;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
