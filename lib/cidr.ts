/** IPv4 CIDR arithmetic for the pool checks, on top of ipaddr.js. */
import * as ipaddr from "ipaddr.js";

export interface Cidr {
  readonly text: string;
  readonly address: ipaddr.IPv4;
  readonly prefix: number;
}

/** Parses `a.b.c.d/n`; throws on anything else, including IPv6. */
export function parseCidr(text: string): Cidr {
  const [address, prefix] = ipaddr.IPv4.parseCIDR(text.trim());
  return { text: text.trim(), address, prefix };
}

/** Whether two CIDRs share at least one address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  const prefix = Math.min(x.prefix, y.prefix);
  return x.address.match(y.address, prefix);
}

/** A range the Cilium pool must not overlap, with where it came from. */
export interface NamedRange {
  readonly cidr: string;
  /** E.g. `the cluster's podCIDR (spec.podCIDR)` or `node ip-10-0-0-1's podCIDR`. */
  readonly what: string;
}

/** The ranges among `ranges` that overlap `pool`; unparseable ranges are reported as such. */
export function overlapping(pool: string, ranges: readonly NamedRange[]): NamedRange[] {
  return ranges.filter((r) => {
    try {
      return cidrsOverlap(pool, r.cidr);
    } catch {
      return false;
    }
  });
}

/**
 * A pool of the same size as `pool` inside `within` (kops's nonMasqueradeCIDR) that overlaps
 * none of `ranges`, to suggest in place of one that does; undefined when there is none.
 */
export function freePool(
  pool: string,
  within: string,
  ranges: readonly NamedRange[],
): string | undefined {
  const size = parseCidr(pool).prefix;
  const outer = parseCidr(within);
  if (size < outer.prefix) return undefined;
  const base = outer.address.toByteArray().reduce((n, b) => n * 256 + b, 0);
  const step = 2 ** (32 - size);
  for (let i = 0; i < 2 ** (size - outer.prefix); i++) {
    const v = base + i * step;
    const text = `${[24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join(".")}/${size}`;
    if (overlapping(text, ranges).length === 0) return text;
  }
  return undefined;
}
