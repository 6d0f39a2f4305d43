import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import {
  KubeRequestError,
  PAGE_SIZE,
  kubeLister,
  readCluster,
  readNodesAndRecord,
} from "../../lib/cluster-read";
import { API_FIXTURES, STAGE2_ROUTES } from "../support/fixtures";

/**
 * A loopback API server answering LISTs from the recorded stage 2 responses, `pageSize` items a
 * page at most (the real one honours `limit`; a smaller page makes the test follow `continue`).
 */
function fakeApiServer(pageSize: number): {
  requests: { url: string; auth: string | undefined }[];
  start: () => Promise<string>;
  stop: () => Promise<void>;
} {
  const requests: { url: string; auth: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? "", auth: req.headers.authorization });
    const url = new URL(req.url ?? "/", "http://x");
    const selector = url.searchParams.get("fieldSelector");
    const key = selector === null ? url.pathname : `${url.pathname}?fieldSelector=${selector}`;
    const file = STAGE2_ROUTES[key];
    if (url.pathname === "/api/v1/pods/broken") {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", message: "etcdserver: request timed out" }));
      return;
    }
    if (file === undefined) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(fs.readFileSync(path.join(API_FIXTURES, "status-stage2", "notfound.json")));
      return;
    }
    const list = JSON.parse(
      fs.readFileSync(path.join(API_FIXTURES, "status-stage2", file), "utf8"),
    ) as { items: unknown[]; metadata: Record<string, string> };
    const start = Number(url.searchParams.get("continue") ?? "0");
    const limit = Math.min(Number(url.searchParams.get("limit") ?? "0") || Infinity, pageSize);
    const items = list.items.slice(start, start + limit);
    const more = start + limit < list.items.length;
    const body = JSON.stringify({
      ...list,
      metadata: { resourceVersion: "1", ...(more ? { continue: String(start + limit) } : {}) },
      items,
    });
    if (req.headers["accept-encoding"]?.includes("gzip")) {
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      res.end(zlib.gzipSync(body));
    } else {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    }
  });
  return {
    requests,
    start: () =>
      new Promise((resolve) =>
        server.listen(0, "127.0.0.1", () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function kubeconfig(server: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-kubeconfig-"));
  const file = path.join(dir, "config");
  fs.writeFileSync(
    file,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: fake, cluster: {server: " +
        JSON.stringify(server) +
        ", insecure-skip-tls-verify: true}}]",
      "users: [{name: op, user: {token: t0ken}}]",
      "contexts: [{name: fake-ctx, context: {cluster: fake, user: op}}, " +
        "{name: other, context: {cluster: fake, user: op}}]",
      "current-context: other",
      "",
    ].join("\n"),
  );
  return file;
}

describe("reading the cluster by paginated LIST", () => {
  const api = fakeApiServer(4);
  let config: string;
  before(async () => {
    config = kubeconfig(await api.start());
  });
  after(() => api.stop());
  beforeEach(() => {
    api.requests.length = 0;
  });

  it("reads everything status shows with LISTs of 500, following continue, never per node", async () => {
    const lister = await kubeLister({ kubeconfig: config, context: "fake-ctx" });
    expect(lister.context).to.equal("fake-ctx");
    const read = await readCluster(lister);
    expect(read.nodes.map((n) => n.metadata?.name)).to.deep.equal([
      "master-us-test-1a-1",
      "ingress-1",
      "nodes-old-1",
      "nodes-old-2",
      "nodes-new-1",
      "nodes-new-2",
      "nodes-new-3",
    ]);
    expect(read.pods).to.have.length(38);
    expect(read.nodeConfigs).to.deep.equal([]); // the CRD is absent: 404
    expect(read.stageRecord).to.deep.equal({
      stage: "2",
      stageName: "dual, cilium primary",
      stack: "stage2",
    });
    expect(read.ciliumConfig?.["cluster-pool-ipv4-cidr"]).to.equal("100.72.0.0/13");
    expect(read.daemonSets).to.have.length(5);

    const paths = api.requests.map((r) => new URL(r.url, "http://x"));
    expect(paths.every((u) => u.searchParams.get("limit") === String(PAGE_SIZE))).to.equal(true);
    expect(api.requests.every((r) => r.auth === "Bearer t0ken")).to.equal(true);
    const count = (p: string): number => paths.filter((u) => u.pathname === p).length;
    expect(count("/api/v1/nodes")).to.equal(2); // 7 nodes, 4 a page
    expect(count("/api/v1/pods")).to.equal(10); // 38 pods
    expect(paths.filter((u) => u.pathname.startsWith("/api/v1/nodes/"))).to.deep.equal([]);
    expect(api.requests).to.have.length(2 + 10 + 2 + 1 + 2);
  });

  it("reads the nodes and the stage record for preflight", async () => {
    const r = await readNodesAndRecord(() => kubeLister({ kubeconfig: config }));
    expect(r.record).to.deep.equal({ stage: 2, stack: "stage2" });
    expect(
      r.nodes?.map((n) => [n.name, n.labels["kops.k8s.io/instancegroup"], n.podCIDRs]),
    ).to.deep.equal([
      ["master-us-test-1a-1", "master-us-test-1a", ["100.96.0.0/24"]],
      ["ingress-1", "ingress", ["100.96.1.0/24"]],
      ["nodes-old-1", "nodes", ["100.96.2.0/24"]],
      ["nodes-old-2", "nodes", ["100.96.3.0/24"]],
      ["nodes-new-1", "nodes", ["100.96.4.0/24"]],
      ["nodes-new-2", "nodes", ["100.96.5.0/24"]],
      ["nodes-new-3", "nodes", ["100.96.6.0/24"]],
    ]);
    expect(r.error).to.equal(undefined);
  });

  it("names the path and the server's message when a LIST fails", async () => {
    const lister = await kubeLister({ kubeconfig: config });
    try {
      await lister.list("/api/v1/pods/broken");
      expect.fail("the list should have failed");
    } catch (e) {
      expect(e).to.be.instanceOf(KubeRequestError);
      expect((e as KubeRequestError).statusCode).to.equal(500);
      expect((e as Error).message).to.equal(
        "GET /api/v1/pods/broken returned 500: etcdserver: request timed out",
      );
    }
  });

  it("refuses a context the kubeconfig does not have, listing those it has", async () => {
    try {
      await kubeLister({ kubeconfig: config, context: "prod" });
      expect.fail("the context should have been refused");
    } catch (e) {
      expect((e as Error).message).to.equal(
        '--context is "prod", which is not a context of the kubeconfig. Contexts: fake-ctx, other.',
      );
    }
  });

  it("reports an unreachable API server as unreadable", async () => {
    const closed = kubeconfig("http://127.0.0.1:9");
    const r = await readNodesAndRecord(() => kubeLister({ kubeconfig: closed }));
    expect(r.nodes).to.equal(undefined);
    expect(r.record).to.equal("unreadable");
    expect(r.error).to.match(
      /^GET \/api\/v1\/(nodes|namespaces\/kube-system\/configmaps) failed: /,
    );
  });
});
