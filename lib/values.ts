/**
 * The Cilium Helm values of a stage: the stage's file in `values/`, then the fields derived from
 * config and the cluster, then the user's overrides, merged last.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CiliumConfig } from "./config";
import { CILIUM_LABEL } from "./labels";
import { stageObjects } from "./plan";
import { Stage } from "./stage";

export const VALUES_DIR = path.join(__dirname, "..", "values");

export type Values = Record<string, unknown>;

function isRecord(v: unknown): v is Values {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge: maps merge key by key, everything else in `over` replaces what is in `base`. */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = structuredClone(base);
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    out[k] = isRecord(cur) && isRecord(v) ? mergeValues(cur, v) : structuredClone(v);
  }
  return out;
}

export function readValuesFile(name: "stage0" | "stage3" | "stage4"): Values {
  const file = path.join(VALUES_DIR, `cilium-${name}.yaml`);
  const v: unknown = YAML.parse(fs.readFileSync(file, "utf8"));
  if (!isRecord(v)) throw new Error(`${file} does not hold a map of Helm values`);
  return v;
}

export interface ValuesInput {
  readonly stage: Stage;
  readonly cilium: CiliumConfig;
  /** Port of the API server, already defaulted from the kops cluster spec. */
  readonly apiServerPort: number;
  /** `networkPolicies: none`: policy enforcement is off until stage 4. */
  readonly policiesOff: boolean;
}

/** The complete values the Cilium release gets in a stage. */
export function ciliumValues(input: ValuesInput): Values {
  const { stage, cilium } = input;
  const file = stageObjects(stage, true).ciliumValues;
  const derived: Values = {
    tunnelProtocol: cilium.tunnelProtocol,
    tunnelPort: cilium.tunnelPort,
    ipam: { operator: { clusterPoolIPv4PodCIDRList: [cilium.podCIDR] } },
  };
  if (stage < Stage.Complete) {
    derived.nodeSelector = { "kubernetes.io/os": "linux", [CILIUM_LABEL]: "true" };
    if (input.policiesOff) derived.policyEnforcementMode = "never";
  }
  if (stage >= Stage.CiliumKpr && cilium.apiServerHost !== undefined) {
    derived.k8sServiceHost = cilium.apiServerHost;
    derived.k8sServicePort = input.apiServerPort;
  }
  return mergeValues(mergeValues(readValuesFile(file), derived), cilium.values);
}

/** A short, stable hash of values, to show in outputs and to compare stages. */
export function valuesHash(values: Values): string {
  const canonical = (v: unknown): unknown =>
    isRecord(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical(v[k])]),
        )
      : Array.isArray(v)
        ? v.map(canonical)
        : v;
  return createHash("sha256")
    .update(JSON.stringify(canonical(values)))
    .digest("hex")
    .slice(0, 16);
}
