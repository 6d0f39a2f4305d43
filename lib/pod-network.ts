/**
 * Which pod network a pod's primary interface is on. Multus records every attachment in the
 * `k8s.v1.cni.cncf.io/network-status` annotation; the primary one has `default: true`. Calico's
 * results may leave out `interface`, so entries are matched on `default` and their addresses,
 * and addresses are placed by the networks' CIDRs: canal allocates from each node's podCIDR,
 * Cilium from its cluster pool. Pods without the annotation are placed by their pod IP.
 */
import { Network } from "./node-state";
import { PodLike } from "./snapshot";

export const NETWORK_STATUS_ANNOTATION = "k8s.v1.cni.cncf.io/network-status";

/** The network names the migration's CNI configs use, for entries whose addresses say nothing. */
const NETWORK_NAMES: Readonly<Record<string, Network>> = {
  "k8s-pod-network": "canal",
  cbr0: "canal",
  cilium: "cilium",
  "cilium-sbr": "cilium",
};

/** One entry of the network-status annotation. */
export interface NetworkStatusEntry {
  readonly name: string;
  readonly interface?: string;
  readonly ips: readonly string[];
  readonly mac?: string;
  readonly default?: boolean;
}

/** The annotation's entries; undefined when it is absent or not a JSON array of entries. */
export function parseNetworkStatus(text: string | undefined): NetworkStatusEntry[] | undefined {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  const out: NetworkStatusEntry[] = [];
  for (const e of v as unknown[]) {
    if (typeof e !== "object" || e === null) return undefined;
    const r = e as Record<string, unknown>;
    const ips = Array.isArray(r.ips) ? r.ips.filter((i): i is string => typeof i === "string") : [];
    out.push({
      name: typeof r.name === "string" ? r.name : "",
      ...(typeof r.interface === "string" ? { interface: r.interface } : {}),
      ips,
      ...(typeof r.mac === "string" ? { mac: r.mac } : {}),
      ...(r.default === true ? { default: true } : {}),
    });
  }
  return out;
}

/** An IPv4 address as an unsigned 32-bit number; undefined for anything else. */
export function ipv4ToNumber(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const b = Number(p);
    if (b > 255) return undefined;
    n = n * 256 + b;
  }
  return n;
}

function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

interface Range {
  readonly start: number;
  readonly end: number;
}

function cidrRange(cidr: string): Range | undefined {
  const [addr, bits] = cidr.trim().split("/");
  const base = addr === undefined ? undefined : ipv4ToNumber(addr);
  const prefix = Number(bits);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32)
    return undefined;
  const size = 2 ** (32 - prefix);
  const start = base - (base % size);
  return { start, end: start + size - 1 };
}

/** The smallest single CIDR holding every IPv4 CIDR given; undefined when none parses. */
export function coveringCidr(cidrs: readonly string[]): string | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of cidrs) {
    const r = cidrRange(c);
    if (r === undefined) continue;
    lo = Math.min(lo, r.start);
    hi = Math.max(hi, r.end);
  }
  if (lo === Infinity) return undefined;
  let prefix = 32;
  while (prefix > 0) {
    const size = 2 ** (32 - prefix);
    if (lo - (lo % size) + size - 1 >= hi) break;
    prefix--;
  }
  const size = 2 ** (32 - prefix);
  return `${numberToIpv4(lo - (lo % size))}/${prefix}`;
}

/** The address ranges of each network. */
export interface NetworkRanges {
  /** Every node's podCIDR: canal's host-local IPAM allocates from the node's own range. */
  readonly canal: readonly string[];
  /** Cilium's cluster pool (`cluster-pool-ipv4-cidr` of cilium-config). */
  readonly cilium: readonly string[];
}

/** Places addresses in networks; lookups are a binary search over sorted ranges. */
export class AddressClassifier {
  private readonly starts: number[] = [];
  private readonly ranges: { start: number; end: number; network: Network }[] = [];

  constructor(ranges: NetworkRanges) {
    const all: { start: number; end: number; network: Network }[] = [];
    // Cilium's pool first: a pool overlapping a node's podCIDR is a preflight error anyway.
    for (const network of ["cilium", "canal"] as const) {
      for (const c of ranges[network]) {
        const r = cidrRange(c);
        if (r !== undefined) all.push({ ...r, network });
      }
    }
    all.sort((a, b) => a.start - b.start || a.end - b.end);
    for (const r of all) {
      const last = this.ranges[this.ranges.length - 1];
      if (last !== undefined && r.start <= last.end) continue; // overlap: the first one wins
      this.ranges.push(r);
      this.starts.push(r.start);
    }
  }

  networkOf(ip: string): Network | undefined {
    const n = ipv4ToNumber(ip);
    if (n === undefined) return undefined;
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid] as { start: number; end: number; network: Network };
      if (n < r.start) hi = mid - 1;
      else if (n > r.end) lo = mid + 1;
      else return r.network;
    }
    return undefined;
  }
}

/** Where a pod's primary interface is: a pod network, the host's, none yet, or outside both. */
export type PodNetwork = Network | "host" | "none" | "unknown";

/** A pod's primary interface: its addresses and, when Multus recorded it, its network's name. */
export function primaryInterface(pod: PodLike): { ips: string[]; name?: string } {
  const podIPs = [
    ...(pod.status?.podIP ? [pod.status.podIP] : []),
    ...(pod.status?.podIPs ?? []).map((p) => p.ip),
  ];
  const entries = parseNetworkStatus(pod.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION]);
  if (entries !== undefined) {
    const primary =
      entries.find((e) => e.default === true) ??
      entries.find((e) => e.ips.some((ip) => podIPs.includes(ip)));
    if (primary !== undefined && primary.ips.length > 0) {
      return { ips: [...primary.ips], name: primary.name };
    }
  }
  return { ips: [...new Set(podIPs)] };
}

/** The network of a pod's primary interface. */
export function podNetwork(pod: PodLike, classifier: AddressClassifier): PodNetwork {
  if (pod.spec?.hostNetwork === true) return "host";
  const primary = primaryInterface(pod);
  if (primary.ips.length === 0) return "none";
  for (const ip of primary.ips) {
    const network = classifier.networkOf(ip);
    if (network !== undefined) return network;
  }
  // Addresses outside both ranges: trust the network's name when Multus recorded one.
  const name = primary.name?.split("/").pop();
  return (name === undefined ? undefined : NETWORK_NAMES[name]) ?? "unknown";
}
