/**
 * One read of the cluster for `status` and the promotion gates: nodes, every pod, cilium-config,
 * the stage record, CiliumNodeConfigs and the DaemonSets of kube-system, each by paginated LIST
 * (500 items a page, following `continue`), never one request per node. The lists run side by
 * side; responses are parsed as plain JSON, in the shape the API returns, without the client's
 * per-field model conversion, which costs more than the transfer on large clusters.
 */
import * as http from "node:http";
import * as https from "node:https";
import * as zlib from "node:zlib";
import type { KubeConfig } from "@kubernetes/client-node";
import { NodeInfo, StageRecord, parseStageRecord } from "./cluster";
import { KUBE_SYSTEM, STAGE_RECORD_CONFIGMAP } from "./labels";
import { NodeConfigLike, NodeLike, PodLike } from "./snapshot";
import { ClusterRead, DaemonSetLike } from "./status";

/** Items per LIST page, as kubectl uses. */
export const PAGE_SIZE = 500;
export const CILIUM_CONFIGMAP = "cilium-config";

/** A failed request to the API server, with the HTTP status when one came back. */
export class KubeRequestError extends Error {
  constructor(
    message: string,
    readonly statusCode: number | undefined,
  ) {
    super(message);
    this.name = "KubeRequestError";
  }
}

/** Lists every item of a collection, page by page. */
export interface Lister {
  /** The kubeconfig context in use; null when not known. */
  readonly context: string | null;
  list(path: string, query?: Readonly<Record<string, string>>): Promise<unknown[]>;
}

interface ListPage {
  readonly items?: unknown[];
  readonly metadata?: { readonly continue?: string };
}

/** Options a request needs: the server, TLS material and auth headers from the kubeconfig. */
async function requestOptions(
  kc: KubeConfig,
): Promise<{ base: URL; options: https.RequestOptions; proxied: boolean }> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) {
    throw new KubeRequestError(
      `the kubeconfig has no cluster for context ${JSON.stringify(kc.getCurrentContext())}; ` +
        `pick a context with --context or \`kubectl config use-context NAME\`.`,
      undefined,
    );
  }
  const options: https.RequestOptions = { headers: {} };
  await kc.applyToHTTPSOptions(options);
  return { base: new URL(cluster.server), options, proxied: Boolean(cluster.proxyUrl) };
}

function get(
  agent: http.Agent,
  base: URL,
  options: https.RequestOptions,
  path: string,
): Promise<ListPage> {
  const url = new URL(base.pathname.replace(/\/$/, "") + path, base);
  const send = url.protocol === "http:" ? http.request : https.request;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        ...options,
        agent,
        method: "GET",
        headers: { ...options.headers, Accept: "application/json", "Accept-Encoding": "gzip" },
      },
      (res) => {
        const body =
          res.headers["content-encoding"] === "gzip" ? res.pipe(zlib.createGunzip()) : res;
        const chunks: Buffer[] = [];
        body.on("data", (c: Buffer) => chunks.push(c));
        body.on("error", reject);
        body.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const code = res.statusCode ?? 0;
          if (code < 200 || code >= 300) {
            let message = text.trim().slice(0, 300);
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? message;
            } catch {
              // not a Status object: keep the text
            }
            reject(new KubeRequestError(`GET ${url.pathname} returned ${code}: ${message}`, code));
            return;
          }
          try {
            resolve(JSON.parse(text) as ListPage);
          } catch (e) {
            reject(
              new KubeRequestError(
                `GET ${url.pathname} returned invalid JSON: ${(e as Error).message}`,
                code,
              ),
            );
          }
        });
      },
    );
    req.on("error", (e) =>
      reject(new KubeRequestError(`GET ${url.pathname} failed: ${e.message}`, undefined)),
    );
    req.end();
  });
}

/**
 * A lister for the user's kubeconfig (KUBECONFIG or ~/.kube/config, or `kubeconfig`) and its
 * current context, or `context`. Auth is applied again on every call, so exec and token-file
 * credentials are refreshed in `--watch`.
 */
export async function kubeLister(
  opts: { context?: string; kubeconfig?: string } = {},
): Promise<Lister> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  if (opts.kubeconfig === undefined) kc.loadFromDefault();
  else kc.loadFromFile(opts.kubeconfig);
  if (opts.context !== undefined) {
    if (!kc.getContexts().some((c) => c.name === opts.context)) {
      throw new KubeRequestError(
        `--context is ${JSON.stringify(opts.context)}, which is not a context of the kubeconfig. ` +
          `Contexts: ${
            kc
              .getContexts()
              .map((c) => c.name)
              .join(", ") || "(none)"
          }.`,
        undefined,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  const agents = {
    http: new http.Agent({ keepAlive: true }),
    https: undefined as https.Agent | undefined,
  };
  return {
    context: kc.getCurrentContext() || null,
    async list(path, query = {}) {
      const { base, options, proxied } = await requestOptions(kc);
      // Through a kubeconfig proxy-url, the client's own (proxy) agent; else a kept-alive one.
      const agent = proxied
        ? (options.agent as http.Agent)
        : base.protocol === "http:"
          ? agents.http
          : (agents.https ??= new https.Agent({
              keepAlive: true,
              ca: options.ca,
              cert: options.cert,
              key: options.key,
              pfx: options.pfx,
              passphrase: options.passphrase,
              rejectUnauthorized: options.rejectUnauthorized,
              servername: options.servername,
            }));
      const items: unknown[] = [];
      let token: string | undefined;
      do {
        const params = new URLSearchParams({ ...query, limit: String(PAGE_SIZE) });
        if (token !== undefined) params.set("continue", token);
        const page = await get(agent, base, options, `${path}?${params.toString()}`);
        if (page.items !== undefined) for (const item of page.items) items.push(item);
        token = page.metadata?.continue || undefined;
      } while (token !== undefined);
      return items;
    },
  };
}

async function listOrEmpty(lister: Lister, path: string): Promise<unknown[]> {
  try {
    return await lister.list(path);
  } catch (e) {
    if (e instanceof KubeRequestError && e.statusCode === 404) return [];
    throw e;
  }
}

async function configMapData(
  lister: Lister,
  name: string,
): Promise<Record<string, string> | undefined> {
  const items = (await lister.list(`/api/v1/namespaces/${KUBE_SYSTEM}/configmaps`, {
    fieldSelector: `metadata.name=${name}`,
  })) as { data?: Record<string, string> }[];
  const cm = items[0];
  return cm === undefined ? undefined : (cm.data ?? {});
}

/** Reads everything `status` shows, in six LISTs run side by side. */
export async function readCluster(lister: Lister): Promise<ClusterRead> {
  const [nodes, pods, ciliumConfig, stageRecord, nodeConfigs, daemonSets] = await Promise.all([
    lister.list("/api/v1/nodes"),
    lister.list("/api/v1/pods"),
    configMapData(lister, CILIUM_CONFIGMAP),
    configMapData(lister, STAGE_RECORD_CONFIGMAP),
    // The CRD exists only once cilium-operator has registered it.
    listOrEmpty(lister, "/apis/cilium.io/v2/ciliumnodeconfigs"),
    lister.list(`/apis/apps/v1/namespaces/${KUBE_SYSTEM}/daemonsets`),
  ]);
  return {
    nodes: nodes as NodeLike[],
    pods: pods as PodLike[],
    ciliumConfig,
    stageRecord,
    nodeConfigs: nodeConfigs as NodeConfigLike[],
    daemonSets: daemonSets as DaemonSetLike[],
  };
}

/**
 * What preflight needs from the cluster: nodes and the stage record. When the cluster cannot be
 * read, nodes are undefined, the record is `unreadable` and `error` says why.
 */
export async function readNodesAndRecord(lister: () => Promise<Lister>): Promise<{
  nodes: NodeInfo[] | undefined;
  record: StageRecord | undefined | "unreadable";
  error?: string;
}> {
  try {
    const l = await lister();
    const [nodes, data] = await Promise.all([
      l.list("/api/v1/nodes") as Promise<NodeLike[]>,
      configMapData(l, STAGE_RECORD_CONFIGMAP),
    ]);
    return {
      nodes: nodes.map((n) => ({
        name: n.metadata?.name ?? "",
        labels: n.metadata?.labels ?? {},
        podCIDRs: n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []),
      })),
      record: parseStageRecord(data),
    };
  } catch (e) {
    return { nodes: undefined, record: "unreadable", error: (e as Error).message };
  }
}
