/**
 * Recorded Kubernetes API responses under tests/fixtures/, and a Lister that serves them the way
 * the API server does: by collection path, 404 for a collection that does not exist.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { KubeRequestError, Lister } from "../../lib/cluster-read";

export const API_FIXTURES = path.resolve(__dirname, "..", "fixtures");

/** The items of a recorded list response, e.g. `fixtureItems("node-states", "nodes.json")`. */
export function fixtureItems<T = unknown>(dir: string, file: string): T[] {
  const list = JSON.parse(fs.readFileSync(path.join(API_FIXTURES, dir, file), "utf8")) as {
    items: T[];
  };
  return list.items;
}

/** The data of the one ConfigMap in a recorded ConfigMapList, or undefined when it is empty. */
export function fixtureConfigMapData(
  dir: string,
  file: string,
): Record<string, string> | undefined {
  const [cm] = fixtureItems<{ data?: Record<string, string> }>(dir, file);
  return cm === undefined ? undefined : (cm.data ?? {});
}

/** Which recorded file answers which LIST; a path missing here answers 404. */
export type Routes = Readonly<Record<string, string>>;

export const STAGE2_ROUTES: Routes = {
  "/api/v1/nodes": "nodes.json",
  "/api/v1/pods": "pods.json",
  "/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name=cilium-config":
    "cilium-config.json",
  "/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name=cni-migration-stage":
    "stage-record.json",
  "/apis/apps/v1/namespaces/kube-system/daemonsets": "daemonsets.json",
};

/** A Lister answering from the recorded files of `dir`; it records every call it gets. */
export function fixtureLister(
  dir: string,
  routes: Routes = STAGE2_ROUTES,
  context: string | null = "recorded",
): Lister & { calls: string[] } {
  const calls: string[] = [];
  return {
    context,
    calls,
    list(p: string, query: Readonly<Record<string, string>> = {}) {
      const q = Object.entries(query)
        .map(([k, v]) => `${k}=${v}`)
        .join("&");
      const key = q === "" ? p : `${p}?${q}`;
      calls.push(key);
      const file = routes[key];
      if (file === undefined) {
        return Promise.reject(
          new KubeRequestError(`GET ${p} returned 404: the server could not find it`, 404),
        );
      }
      return Promise.resolve(fixtureItems(dir, file));
    },
  };
}
