/**
 * What a Cilium chart accepts: its default values, its JSON schema and the value paths its
 * templates read. The schema is not enough on its own: it has no `additionalProperties: false`
 * and lacks keys the templates use (`loadBalancer.mode`, `socketLB.hostNamespaceOnly`), so a
 * misspelt key would be ignored silently by Helm. Keys are checked here instead.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import * as tar from "tar";
import * as YAML from "yaml";

export interface ChartInfo {
  /** Where the chart was read from. */
  readonly source: string;
  readonly version: string;
  readonly defaults: Record<string, unknown>;
  readonly schema: Record<string, unknown> | undefined;
  /** Every `.Values.a.b.c` path the templates read, as "a.b.c". */
  readonly templatePaths: ReadonlySet<string>;
}

/** The chart this project ships for key checks and for runs that cannot reach a Helm repository. */
export const BUNDLED_CHART = path.join(__dirname, "..", "charts", "cilium-1.18.6.tgz");

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads the files of a chart directory or packaged `.tgz` into memory. */
function readChartFiles(source: string): Map<string, string> {
  const files = new Map<string, string>();
  const stat = fs.statSync(source);
  if (stat.isDirectory()) {
    const walk = (dir: string, rel: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(p, r);
        else if (/\.(ya?ml|json|tpl)$/.test(e.name)) files.set(r, fs.readFileSync(p, "utf8"));
      }
    };
    walk(source, "");
    return files;
  }
  tar.list({
    file: source,
    sync: true,
    onReadEntry: (entry) => {
      const rel = entry.path.split("/").slice(1).join("/");
      if (!/\.(ya?ml|json|tpl)$/.test(rel)) {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on("data", (c: Buffer) => chunks.push(c));
      entry.on("end", () => files.set(rel, Buffer.concat(chunks).toString("utf8")));
    },
  });
  return files;
}

const VALUES_REF = /\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g;
const ALIAS_DEF =
  /\$([A-Za-z_][A-Za-z0-9_]*)\s*:?=\s*\(?\s*\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g;
const HAS_KEY = /hasKey\s+(\$?[A-Za-z_][A-Za-z0-9_.]*)\s+"([A-Za-z0-9_-]+)"/g;

/** Collects the value paths that templates read, following `$x := .Values.y` aliases. */
export function templateValuePaths(templates: readonly string[]): Set<string> {
  const paths = new Set<string>();
  for (const text of templates) {
    const aliases = new Map<string, string>();
    for (const m of text.matchAll(ALIAS_DEF)) aliases.set(m[1], m[2].slice(1));
    for (const m of text.matchAll(VALUES_REF)) paths.add(m[1].slice(1));
    for (const [alias, target] of aliases) {
      const re = new RegExp(`\\$${alias}((?:\\.[A-Za-z_][A-Za-z0-9_]*)+)`, "g");
      for (const m of text.matchAll(re)) paths.add(`${target}${m[1]}`);
    }
    for (const m of text.matchAll(HAS_KEY)) {
      const subject = m[1];
      const base =
        subject.startsWith("$.Values.") || subject.startsWith(".Values.")
          ? subject.replace(/^\$?\.Values\./, "")
          : aliases.get(subject.slice(1));
      if (base !== undefined) paths.add(`${base}.${m[2]}`);
    }
  }
  return paths;
}

/** Loads a chart from a directory or `.tgz`. */
export function loadChart(source: string): ChartInfo {
  if (!fs.existsSync(source)) {
    throw new Error(
      `the Cilium chart ${source} does not exist; give a chart directory or .tgz path.`,
    );
  }
  const files = readChartFiles(source);
  const valuesText = files.get("values.yaml");
  const chartText = files.get("Chart.yaml");
  if (valuesText === undefined || chartText === undefined) {
    throw new Error(
      `${source} is not a Helm chart: it has no Chart.yaml or values.yaml at its top level.`,
    );
  }
  const chart = YAML.parse(chartText) as { version?: string };
  const schemaText = files.get("values.schema.json");
  const templates = [...files.entries()]
    .filter(([k]) => k.startsWith("templates/"))
    .map(([, v]) => v);
  return {
    source,
    version: String(chart.version ?? ""),
    defaults: (YAML.parse(valuesText) as Record<string, unknown> | null) ?? {},
    schema:
      schemaText === undefined ? undefined : (JSON.parse(schemaText) as Record<string, unknown>),
    templatePaths: templateValuePaths(templates),
  };
}

/**
 * The key paths in `values` that the chart does not know. A path is known when the chart's
 * defaults have it, when a template reads it, or when it lies under a value the templates read
 * whole (such as `nodeSelector`, rendered with `toYaml`) or whose default is an empty map.
 */
export function unknownValueKeys(values: Record<string, unknown>, chart: ChartInfo): string[] {
  const unknown: string[] = [];
  const readsBelow = (p: string): boolean => {
    for (const t of chart.templatePaths) if (t.startsWith(`${p}.`)) return true;
    return false;
  };
  const walk = (obj: Record<string, unknown>, defaults: unknown, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const p = prefix ? `${prefix}.${k}` : k;
      const dflt = isRecord(defaults) ? defaults[k] : undefined;
      const inDefaults = isRecord(defaults) && k in defaults;
      const read = chart.templatePaths.has(p);
      if (!inDefaults && !read) {
        unknown.push(p);
        continue;
      }
      if (!isRecord(v)) continue;
      const freeForm =
        (isRecord(dflt) && Object.keys(dflt).length === 0) ||
        (read && !readsBelow(p)) ||
        dflt === null;
      if (!freeForm) walk(v, dflt, p);
    }
  };
  walk(values, chart.defaults, "");
  return unknown;
}

/** Validates values against the chart's values.schema.json; returns one line per error. */
export function schemaErrors(values: Record<string, unknown>, chart: ChartInfo): string[] {
  if (chart.schema === undefined) return [];
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(chart.schema);
  if (validate(values)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`,
  );
}
