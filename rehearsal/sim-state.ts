/**
 * The kops simulator's state store: a folder per cluster holding the specs (as `kops get all -o
 * yaml` prints them), what `kops update cluster --yes` last applied per instance group (the
 * simulated launch templates), and the kubeconfig of the simulated cluster.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { KopsObject, clusterFacts, groupRef, parseKopsObjects } from "../lib/kops";

/** What new nodes of a group are launched with, as kops-controller would label them. */
export interface LaunchSpec {
  readonly hash: string;
  readonly role: string;
  readonly nodeLabels: Record<string, string>;
  readonly taints: string[];
  readonly kubeProxy: boolean;
}

export interface SimMeta {
  /** Path of the simulated cluster's kubeconfig. */
  readonly kubeconfig: string;
}

export class SimState {
  readonly dir: string;

  constructor(
    stateStore: string,
    readonly clusterName: string,
  ) {
    if (!stateStore.startsWith("file://")) {
      throw new Error(
        `the kops simulator keeps its state in a folder: --state must be file:///PATH, not ${JSON.stringify(stateStore)}`,
      );
    }
    this.dir = path.join(stateStore.slice("file://".length), clusterName);
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  exists(): boolean {
    return fs.existsSync(this.file("specs.yaml"));
  }

  /** Creates the state from a `kops get all -o yaml` file. */
  init(objects: KopsObject[], meta: SimMeta): void {
    fs.mkdirSync(this.dir, { recursive: true });
    this.writeSpecs(objects);
    fs.writeFileSync(this.file("sim.json"), JSON.stringify(meta, null, 2));
    this.applyLaunchSpecs();
  }

  meta(): SimMeta {
    return JSON.parse(fs.readFileSync(this.file("sim.json"), "utf8")) as SimMeta;
  }

  specs(): KopsObject[] {
    if (!this.exists()) {
      throw new Error(
        `cluster not found: no ${this.clusterName} in the simulator's state store ${this.dir}`,
      );
    }
    return parseKopsObjects(
      fs.readFileSync(this.file("specs.yaml"), "utf8"),
      this.file("specs.yaml"),
    );
  }

  writeSpecs(objects: KopsObject[]): void {
    const text = objects.map((o) => YAML.stringify(o)).join("---\n");
    const tmp = `${this.file("specs.yaml")}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, this.file("specs.yaml"));
  }

  /**
   * Runs `change` on the specs under a lock and writes the result: kops keeps each object in its
   * own file, so concurrent `kops replace` calls of different objects must not lose each other.
   */
  updateSpecs(change: (objects: KopsObject[]) => void): void {
    const lock = this.file("specs.lock");
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        fs.mkdirSync(lock);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        if (Date.now() > deadline)
          throw new Error(
            `the simulator's state store is locked (${lock}); remove it if no kops-sim runs`,
          );
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    try {
      const objects = this.specs();
      change(objects);
      this.writeSpecs(objects);
    } finally {
      fs.rmdirSync(lock);
    }
  }

  cluster(): KopsObject {
    const c = this.specs().find((o) => o.kind === "Cluster");
    if (c === undefined)
      throw new Error(`the simulator's state of ${this.clusterName} has no Cluster`);
    return c;
  }

  groups(): KopsObject[] {
    return this.specs().filter((o) => o.kind === "InstanceGroup");
  }

  /** The launch spec each group would get from the current specs. */
  desiredLaunchSpecs(): Record<string, LaunchSpec> {
    const facts = clusterFacts(this.cluster());
    const out: Record<string, LaunchSpec> = {};
    for (const ig of this.groups()) {
      const role = groupRef(ig).role;
      const body = {
        role,
        nodeLabels: (ig.spec.nodeLabels as Record<string, string> | undefined) ?? {},
        taints: (ig.spec.taints as string[] | undefined) ?? [],
        kubeProxy: facts.kubeProxyEnabled,
      };
      const hash = createHash("sha256").update(JSON.stringify(body)).digest("hex").slice(0, 12);
      out[ig.metadata.name] = { hash, ...body };
    }
    return out;
  }

  launchSpecs(): Record<string, LaunchSpec> {
    return JSON.parse(fs.readFileSync(this.file("launch.json"), "utf8")) as Record<
      string,
      LaunchSpec
    >;
  }

  /** `kops update cluster --yes`: the current specs become what new instances launch with. */
  applyLaunchSpecs(): Record<string, LaunchSpec> {
    const specs = this.desiredLaunchSpecs();
    fs.writeFileSync(this.file("launch.json"), JSON.stringify(specs, null, 2));
    return specs;
  }

  /** The next free /24 of the cluster's podCIDR, never reused. */
  allocatePodCIDR(podCIDR: string, taken: ReadonlySet<string>): string {
    const counterFile = this.file("podcidr.counter");
    let n = fs.existsSync(counterFile) ? Number(fs.readFileSync(counterFile, "utf8")) : 0;
    const [base, prefix] = podCIDR.split("/") as [string, string];
    const octets = base.split(".").map(Number) as [number, number, number, number];
    const start = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8)) >>> 0;
    const size = 2 ** (24 - Number(prefix));
    for (let tries = 0; tries < size; tries++, n++) {
      const v = (start + ((n % size) << 8)) >>> 0;
      const cidr = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.0/24`;
      if (!taken.has(cidr)) {
        fs.writeFileSync(counterFile, String(n + 1));
        return cidr;
      }
    }
    throw new Error(`the cluster's podCIDR ${podCIDR} has no free /24 left for a new node`);
  }

  /** A unique node name for a group, e.g. `nodes-a3f9c1`. */
  nextNodeName(group: string): string {
    const counterFile = this.file("node.counter");
    const n = fs.existsSync(counterFile) ? Number(fs.readFileSync(counterFile, "utf8")) : 0;
    fs.writeFileSync(counterFile, String(n + 1));
    return `${group}-${n.toString(36).padStart(4, "0")}`.toLowerCase();
  }
}
