/**
 * The objects of the status benchmark, a cluster in the middle of stage 2: kwok-managed nodes
 * (three control-plane, 30 ingress, the rest half rolled to dual cilium-primary), on each the
 * kube-system pods of canal, Cilium, Multus and kube-proxy, and application pods carrying
 * Multus's network-status annotation; plus cilium-config and the stage record. Created with
 * concurrent POSTs on one kept-alive connection pool.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import * as https from "node:https";

export interface Kube {
  readonly base: URL;
  readonly options: https.RequestOptions;
}

export async function connect(kubeconfig: string): Promise<Kube> {
  const k8s = await import("@kubernetes/client-node");
  const kc: KubeConfig = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) throw new Error(`${kubeconfig} has no current cluster`);
  const options: https.RequestOptions = { headers: {} };
  await kc.applyToHTTPSOptions(options);
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: 32,
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    rejectUnauthorized: options.rejectUnauthorized,
  });
  return { base: new URL(server), options: { ...options, agent } };
}

function request(kube: Kube, method: string, path: string, body?: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      new URL(path, kube.base),
      {
        ...kube.options,
        method,
        headers: {
          ...kube.options.headers,
          Accept: "application/json",
          ...(data === undefined ? {} : { "Content-Type": "application/json" }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve(JSON.parse(text));
          else reject(new Error(`${method} ${path} returned ${code}: ${text.slice(0, 300)}`));
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

interface Obj {
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly [k: string]: unknown;
  };
}

function collection(o: Obj): string {
  const plural = { Node: "nodes", Pod: "pods", ConfigMap: "configmaps" }[o.kind];
  if (plural === undefined) throw new Error(`no collection for kind ${o.kind}`);
  return o.metadata.namespace === undefined
    ? `/api/v1/${plural}`
    : `/api/v1/namespaces/${o.metadata.namespace}/${plural}`;
}

/** Creates every object, `concurrency` at a time. */
export async function bulkCreate(
  kube: Kube,
  objects: readonly Obj[],
  concurrency = 32,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const o = objects[next++];
      if (o === undefined) return;
      await request(kube, "POST", collection(o), o);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Waits until the controller-manager has made each namespace's `default` ServiceAccount. */
export async function waitForServiceAccounts(
  kube: Kube,
  namespaces: readonly string[],
): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (const ns of namespaces) {
    for (;;) {
      try {
        await request(kube, "GET", `/api/v1/namespaces/${ns}/serviceaccounts/default`);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

/** How many pods are not Running yet (0 or 1: it asks for one). */
export async function countPodsNotRunning(kube: Kube): Promise<number> {
  const list = (await request(
    kube,
    "GET",
    "/api/v1/pods?fieldSelector=status.phase%21%3DRunning&limit=1",
  )) as { items: unknown[] };
  return list.items.length;
}

const CANAL = "node-role.kubernetes.io/canal";
const CILIUM = "node-role.kubernetes.io/cilium";
const PRIORITY = "node-role.kubernetes.io/cni-priority";
const octets = (i: number): string => `${Math.floor(i / 256)}.${i % 256}`;
const canalIp = (node: number, k: number): string =>
  `100.${96 + Math.floor(node / 256)}.${node % 256}.${k + 10}`;
const ciliumIp = (node: number, k: number): string =>
  `100.${72 + Math.floor(node / 256)}.${node % 256}.${k + 10}`;

function groupOf(i: number): string {
  if (i < 3) return "master-us-test-1a";
  if (i < 33) return "ingress";
  return "nodes";
}
const nodeName = (i: number): string => `${groupOf(i)}-${String(i).padStart(4, "0")}`;
/** Stage 2, half rolled: control-plane and every other ordinary node are cilium-primary. */
const priorityOf = (i: number): "canal" | "cilium" =>
  groupOf(i) === "ingress" || (groupOf(i) === "nodes" && i % 2 === 0) ? "canal" : "cilium";

export function nodeObject(i: number): Obj & Record<string, unknown> {
  const name = nodeName(i);
  const [a, b] = octets(i).split(".");
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "beta.kubernetes.io/arch": "amd64",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kops.k8s.io/instancegroup": groupOf(i),
        "node.kubernetes.io/instance-type": "m5.2xlarge",
        "topology.kubernetes.io/zone": "us-test-1a",
        type: "kwok",
        [CANAL]: "true",
        [CILIUM]: "true",
        [PRIORITY]: priorityOf(i),
        ...(i < 3 ? { "node-role.kubernetes.io/control-plane": "" } : {}),
      },
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: {
      podCIDR: `100.${96 + Number(a)}.${b}.0/24`,
      podCIDRs: [`100.${96 + Number(a)}.${b}.0/24`],
      providerID: `aws:///us-test-1a/i-${(0x10000000 + i).toString(16)}`,
    },
    status: {
      allocatable: { cpu: "8", memory: "32Gi", pods: "110" },
      capacity: { cpu: "8", memory: "32Gi", pods: "110" },
      nodeInfo: {
        architecture: "amd64",
        kubeletVersion: "v1.27.16",
        kubeProxyVersion: "v1.27.16",
        operatingSystem: "linux",
        osImage: "Ubuntu 22.04.5 LTS",
        containerRuntimeVersion: "containerd://1.7.24",
      },
    },
  };
}

function pod(
  name: string,
  namespace: string,
  node: number,
  labels: Record<string, string>,
  extra: { hostNetwork?: boolean; annotations?: Record<string, string> },
): Obj & Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      labels,
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: {
      nodeName: nodeName(node),
      hostNetwork: extra.hostNetwork === true,
      automountServiceAccountToken: false,
      tolerations: [{ operator: "Exists" }],
      containers: [
        {
          name: "main",
          image: "registry.example/app:1.0",
          resources: { requests: { cpu: "10m", memory: "16Mi" } },
          env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
        },
      ],
    },
  };
}

function networkStatus(node: number, k: number): string {
  const canal = { name: "k8s-pod-network", ips: [canalIp(node, k)], dns: {} };
  const cilium = { name: "cilium", interface: "eth0", ips: [ciliumIp(node, k)], dns: {} };
  return JSON.stringify(
    priorityOf(node) === "canal"
      ? [
          { ...canal, default: true },
          { ...cilium, name: "cilium-sbr", interface: "net1" },
        ]
      : [
          { ...cilium, default: true },
          { ...canal, name: "cbr0", interface: "net1" },
        ],
  );
}

/** `total` pods spread over `nodes` nodes: four kube-system pods a node, the rest applications. */
export function podObjects(nodes: number, total: number): (Obj & Record<string, unknown>)[] {
  const out: (Obj & Record<string, unknown>)[] = [];
  for (let n = 0; n < nodes; n++) {
    const count = Math.floor(total / nodes) + (n < total % nodes ? 1 : 0);
    const system: [string, Record<string, string>][] = [
      ["canal", { "k8s-app": "canal" }],
      ["cilium", { "k8s-app": "cilium" }],
      priorityOf(n) === "canal"
        ? ["kube-multus", { app: "multus", name: "kube-multus", primary: "canal" }]
        : ["kube-multus-cilium", { app: "multus", name: "kube-multus-cilium", primary: "cilium" }],
      ["kube-proxy", { "k8s-app": "kube-proxy", tier: "node" }],
    ];
    for (const [k, [prefix, labels]] of system.slice(0, count).entries()) {
      out.push(
        pod(`${prefix}-${String(n).padStart(4, "0")}-${k}`, "kube-system", n, labels, {
          hostNetwork: true,
        }),
      );
    }
    for (let k = system.length; k < count; k++) {
      out.push(
        pod(
          `web-${String(n).padStart(4, "0")}-${k}`,
          "default",
          n,
          { app: "web", tier: "frontend" },
          {
            annotations: { "k8s.v1.cni.cncf.io/network-status": networkStatus(n, k) },
          },
        ),
      );
    }
  }
  return out;
}

/** cilium-config and the stage record. */
export function supportObjects(): (Obj & Record<string, unknown>)[] {
  const cm = (name: string, data: Record<string, string>): Obj & Record<string, unknown> => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "kube-system" },
    data,
  });
  return [
    cm("cilium-config", {
      "cluster-pool-ipv4-cidr": "100.72.0.0/13",
      "kube-proxy-replacement": "false",
    }),
    cm("cni-migration-stage", { stage: "2", stageName: "dual, cilium primary", stack: "stage2" }),
  ];
}
