/**
 * The program's configuration, in the `cni-migration` namespace, validated as a whole before any
 * resource is registered: every problem is reported at once, naming the key, the value seen,
 * what is allowed and how to fix it.
 */
import { parseCidr } from "./cidr";
import { Stage, parseStage, validStagesText } from "./stage";

export const CONFIG_NAMESPACE = "cni-migration";

/** The Cilium release settings (`cni-migration:cilium`). */
export interface CiliumConfig {
  /** Chart version. @default "1.18.6" */
  readonly version: string;
  /** A Helm repository URL, or a local chart directory or `.tgz`. @default "https://helm.cilium.io" */
  readonly chart: string;
  /** Cilium's cluster-pool CIDR; must be disjoint from every canal and VPC range. @default "100.72.0.0/13" */
  readonly podCIDR: string;
  /** @default "geneve" */
  readonly tunnelProtocol: "geneve" | "vxlan";
  /** @default 6081 */
  readonly tunnelPort: number;
  /** The API load balancer's address, for nodes without kube-proxy; required from stage 3. */
  readonly apiServerHost?: string;
  /** @default 8443 when the kops API load balancer has an SSL certificate, else 443 */
  readonly apiServerPort?: number;
  /** Extra chart values, merged last; every key is checked against the chart. @default {} */
  readonly values: Record<string, unknown>;
}

export interface RolloutConfig {
  /** `kops rolling-update --validation-timeout`. @default "15m" */
  readonly validationTimeout: string;
  /** `kops rolling-update --validate-count`. @default 2 */
  readonly validateCount: number;
  /** How long one instance group's roll may take before it is stopped. @default "6h" */
  readonly timeout: string;
}

export interface MigrationConfig {
  readonly stage: Stage;
  readonly clusterName: string;
  readonly stateStore: string;
  /** @default "kops" */
  readonly kopsBinary: string;
  /** Instance groups whose nodes stay canal-primary until stage 3 and roll first there. */
  readonly ingressInstanceGroups: readonly string[];
  readonly cilium: CiliumConfig;
  /** `keep`: a temporary clusterwide allow policy until stage 4; `none`: policies are off. */
  readonly networkPolicies: "keep" | "none";
  readonly multus: { readonly image: string };
  readonly rollout: RolloutConfig;
}

export const DEFAULT_CILIUM_VERSION = "1.18.6";
export const DEFAULT_CILIUM_REPO = "https://helm.cilium.io";
export const DEFAULT_CILIUM_POD_CIDR = "100.72.0.0/13";
export const DEFAULT_MULTUS_IMAGE = "ghcr.io/k8snetworkplumbingwg/multus-cni:v4.2.2";

const TOP_KEYS = [
  "stage",
  "clusterName",
  "stateStore",
  "kopsBinary",
  "ingressInstanceGroups",
  "cilium",
  "networkPolicies",
  "multus",
  "rollout",
] as const;
const CILIUM_KEYS = [
  "version",
  "chart",
  "podCIDR",
  "tunnelProtocol",
  "tunnelPort",
  "apiServerHost",
  "apiServerPort",
  "values",
];
const ROLLOUT_KEYS = ["validationTimeout", "validateCount", "timeout"];

/** All configuration problems, reported together. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

const key = (k: string): string => `\`${CONFIG_NAMESPACE}:${k}\``;
const show = (v: unknown): string => JSON.stringify(v);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A Pulumi config value arrives as a string; objects, lists and numbers as JSON text. */
function decode(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (/^[[{]/.test(t) || /^-?\d+$/.test(t)) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return v;
    }
  }
  return v;
}

/**
 * Validates raw config values (key without namespace to value) for the stack `stackName`.
 * Throws a {@link ConfigError} listing every problem.
 */
export function parseConfig(raw: Record<string, unknown>, stackName: string): MigrationConfig {
  const problems: string[] = [];
  const get = (k: string): unknown => decode(raw[k]);

  for (const k of Object.keys(raw)) {
    if (!(TOP_KEYS as readonly string[]).includes(k)) {
      problems.push(
        `${key(k)} is not a setting of this program. Known settings: ${TOP_KEYS.join(", ")}.`,
      );
    }
  }

  let stage: Stage = Stage.Prepare;
  if (raw.stage === undefined) {
    problems.push(
      `${key("stage")} is required. Set it in Pulumi.${stackName}.yaml to one of ${validStagesText()}.`,
    );
  } else {
    try {
      stage = parseStage(get("stage"), `${CONFIG_NAMESPACE}:stage`);
      const m = /stage(\d+)$/.exec(stackName);
      if (m && Number(m[1]) !== stage) {
        problems.push(
          `${key("stage")} is ${stage} but the stack is \`${stackName}\`, which holds stage ${m[1]}. ` +
            `Set ${key("stage")} to ${m[1]} in Pulumi.${stackName}.yaml, or select the stack of ` +
            `stage ${stage}.`,
        );
      }
    } catch (e) {
      problems.push((e as Error).message);
    }
  }

  const requiredString = (k: string, hint: string): string => {
    const v = get(k);
    if (typeof v !== "string" || v.trim() === "") {
      problems.push(`${key(k)} is ${v === undefined ? "missing" : show(v)}; ${hint}`);
      return "";
    }
    return v;
  };
  const clusterName = requiredString(
    "clusterName",
    "set it to the kops cluster name (what `kops get clusters` lists), e.g. `pulumi config set clusterName prod.example.com`.",
  );
  const stateStore = requiredString(
    "stateStore",
    "set it to the kops state store, e.g. `pulumi config set stateStore s3://my-kops-state`.",
  );
  const kopsBinaryRaw = get("kopsBinary");
  let kopsBinary = "kops";
  if (kopsBinaryRaw !== undefined) {
    if (typeof kopsBinaryRaw !== "string" || kopsBinaryRaw === "") {
      problems.push(
        `${key("kopsBinary")} is ${show(kopsBinaryRaw)}; set it to a path or command name of kops.`,
      );
    } else kopsBinary = kopsBinaryRaw;
  }

  const ingressRaw = get("ingressInstanceGroups") ?? [];
  let ingressInstanceGroups: string[] = [];
  if (!Array.isArray(ingressRaw) || !ingressRaw.every((g) => typeof g === "string" && g !== "")) {
    problems.push(
      `${key("ingressInstanceGroups")} is ${show(ingressRaw)}; it must be a list of instance ` +
        `group names, e.g. ["ingress-a", "ingress-b"], or left out.`,
    );
  } else ingressInstanceGroups = ingressRaw as string[];

  const policiesRaw = get("networkPolicies") ?? "keep";
  if (policiesRaw !== "keep" && policiesRaw !== "none") {
    problems.push(
      `${key("networkPolicies")} is ${show(policiesRaw)}; allowed: "keep" (a temporary ` +
        `clusterwide allow policy until stage 4) or "none" (policies off during the migration).`,
    );
  }

  const cilium = parseCilium(get("cilium"), stage, problems);
  const multus = parseMultus(get("multus"), problems);
  const rollout = parseRollout(get("rollout"), problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    stage,
    clusterName,
    stateStore,
    kopsBinary,
    ingressInstanceGroups,
    cilium,
    networkPolicies: policiesRaw as "keep" | "none",
    multus,
    rollout,
  };
}

function unknownKeys(
  obj: Record<string, unknown>,
  known: string[],
  prefix: string,
  problems: string[],
): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      problems.push(
        `${key(`${prefix}.${k}`)} is not a setting. Known ${prefix} settings: ${known.join(", ")}.`,
      );
    }
  }
}

function parseCilium(raw: unknown, stage: Stage, problems: string[]): CiliumConfig {
  const c = raw === undefined ? {} : raw;
  if (!isRecord(c)) {
    problems.push(
      `${key("cilium")} is ${show(raw)}; it must be an object such as {"podCIDR": "100.72.0.0/13"}.`,
    );
    return defaultsCilium();
  }
  unknownKeys(c, CILIUM_KEYS, "cilium", problems);
  const str = (k: string, dflt: string): string => {
    const v = c[k] ?? dflt;
    if (typeof v !== "string" || v === "") {
      problems.push(`${key(`cilium.${k}`)} is ${show(v)}; it must be a non-empty string.`);
      return dflt;
    }
    return v;
  };
  const port = (k: string, dflt: number | undefined): number | undefined => {
    const v = c[k] ?? dflt;
    if (v === undefined) return undefined;
    const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 65535) {
      problems.push(
        `${key(`cilium.${k}`)} is ${show(v)}; it must be a port number from 1 to 65535.`,
      );
      return dflt;
    }
    return n;
  };
  const podCIDR = str("podCIDR", DEFAULT_CILIUM_POD_CIDR);
  try {
    parseCidr(podCIDR);
  } catch {
    problems.push(
      `${key("cilium.podCIDR")} is ${show(podCIDR)}, which is not an IPv4 CIDR; use a form like ` +
        `"100.72.0.0/13" that no canal, service or VPC range overlaps.`,
    );
  }
  const tunnelProtocol = str("tunnelProtocol", "geneve");
  if (tunnelProtocol !== "geneve" && tunnelProtocol !== "vxlan") {
    problems.push(
      `${key("cilium.tunnelProtocol")} is ${show(tunnelProtocol)}; allowed: "geneve" (needed for ` +
        `DSR with geneve dispatch) or "vxlan" (on a port other than flannel's 8472).`,
    );
  }
  const tunnelPort = port("tunnelPort", tunnelProtocol === "vxlan" ? 8473 : 6081) ?? 6081;
  if (tunnelProtocol === "vxlan" && tunnelPort === 8472) {
    problems.push(
      `${key("cilium.tunnelPort")} is 8472, flannel's VXLAN port; canal still uses it on dual ` +
        `nodes. Use another port such as 8473, or geneve on 6081.`,
    );
  }
  const hostRaw = c.apiServerHost;
  let apiServerHost: string | undefined;
  if (hostRaw !== undefined && (typeof hostRaw !== "string" || hostRaw === "")) {
    problems.push(
      `${key("cilium.apiServerHost")} is ${show(hostRaw)}; set it to the API load balancer's DNS name.`,
    );
  } else apiServerHost = hostRaw;
  if (stage >= Stage.CiliumKpr && apiServerHost === undefined) {
    problems.push(
      `${key("cilium.apiServerHost")} is missing; from stage 3 nodes run without kube-proxy and ` +
        `reach the API server only through it. Set it to the API load balancer's address, e.g. ` +
        `\`pulumi config set --path cilium.apiServerHost api.example.com\`.`,
    );
  }
  const values = c.values ?? {};
  if (!isRecord(values)) {
    problems.push(
      `${key("cilium.values")} is ${show(values)}; it must be an object of chart values.`,
    );
  }
  return {
    version: str("version", DEFAULT_CILIUM_VERSION),
    chart: str("chart", DEFAULT_CILIUM_REPO),
    podCIDR,
    tunnelProtocol: tunnelProtocol === "vxlan" ? "vxlan" : "geneve",
    tunnelPort,
    apiServerHost,
    apiServerPort: port("apiServerPort", undefined),
    values: isRecord(values) ? values : {},
  };
}

function defaultsCilium(): CiliumConfig {
  return {
    version: DEFAULT_CILIUM_VERSION,
    chart: DEFAULT_CILIUM_REPO,
    podCIDR: DEFAULT_CILIUM_POD_CIDR,
    tunnelProtocol: "geneve",
    tunnelPort: 6081,
    values: {},
  };
}

/** A pinned Multus release tag: `vX.Y.Z`, optionally with a `-thick` style suffix, or a digest. */
export function isPinnedMultusImage(image: string): boolean {
  return /:v\d+\.\d+\.\d+(-[a-z0-9.]+)?$/.test(image) || /@sha256:[0-9a-f]{64}$/.test(image);
}

function parseMultus(raw: unknown, problems: string[]): { image: string } {
  const m = raw === undefined ? {} : raw;
  if (!isRecord(m)) {
    problems.push(
      `${key("multus")} is ${show(raw)}; it must be an object such as {"image": "${DEFAULT_MULTUS_IMAGE}"}.`,
    );
    return { image: DEFAULT_MULTUS_IMAGE };
  }
  unknownKeys(m, ["image"], "multus", problems);
  const image = m.image ?? DEFAULT_MULTUS_IMAGE;
  if (typeof image !== "string" || !isPinnedMultusImage(image)) {
    problems.push(
      `${key("multus.image")} is ${show(image)}; it must name a released tag such as ` +
        `"${DEFAULT_MULTUS_IMAGE}" or a digest, never "snapshot" or "latest", so every node runs ` +
        `the same Multus.`,
    );
    return { image: DEFAULT_MULTUS_IMAGE };
  }
  return { image };
}

const DURATION = /^(\d+h)?(\d+m)?(\d+s)?$/;

function parseRollout(raw: unknown, problems: string[]): RolloutConfig {
  const r = raw === undefined ? {} : raw;
  const dflt: RolloutConfig = { validationTimeout: "15m", validateCount: 2, timeout: "6h" };
  if (!isRecord(r)) {
    problems.push(
      `${key("rollout")} is ${show(raw)}; it must be an object such as {"timeout": "6h"}.`,
    );
    return dflt;
  }
  unknownKeys(r, ROLLOUT_KEYS, "rollout", problems);
  const duration = (k: "validationTimeout" | "timeout"): string => {
    const v = r[k] ?? dflt[k];
    if (typeof v !== "string" || v === "" || !DURATION.test(v)) {
      problems.push(
        `${key(`rollout.${k}`)} is ${show(v)}; use a duration such as "15m" or "2h30m".`,
      );
      return dflt[k];
    }
    return v;
  };
  const count = r.validateCount ?? dflt.validateCount;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1) {
    problems.push(
      `${key("rollout.validateCount")} is ${show(count)}; it must be a whole number of at least 1.`,
    );
  }
  return {
    validationTimeout: duration("validationTimeout"),
    validateCount: typeof count === "number" && count >= 1 ? count : dflt.validateCount,
    timeout: duration("timeout"),
  };
}

/** Converts a kops-style duration (`2h30m`) to seconds. */
export function durationSeconds(d: string): number {
  const m = DURATION.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  const n = (s: string | undefined): number => (s ? Number(s.slice(0, -1)) : 0);
  return n(m[1]) * 3600 + n(m[2]) * 60 + n(m[3]);
}
