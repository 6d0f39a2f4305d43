/**
 * The program's settings as a stack's config file holds them (`Pulumi.<stack>.yaml`), for the
 * CLI commands that run outside `pulumi up`: `preflight` and `status`. Secrets are not read.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CONFIG_NAMESPACE } from "./config";

/** The path of a stack's config file in a project directory. */
export function stackConfigPath(projectDir: string, stack: string): string {
  return path.join(projectDir, `Pulumi.${stack}.yaml`);
}

/**
 * The `cni-migration:` keys of a stack's config file, without the namespace, as `parseConfig`
 * takes them; undefined when the file does not exist. Throws, naming the file, when it does not
 * parse or its `config` is not a map.
 */
export function readStackConfig(file: string): Record<string, unknown> | undefined {
  if (!fs.existsSync(file)) return undefined;
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file} is not valid YAML (${(e as Error).message}); fix or regenerate it.`);
  }
  const config = (doc as { config?: unknown } | null)?.config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new Error(
      `${file} has a \`config\` that is not a map; it must map keys such as ` +
        `\`${CONFIG_NAMESPACE}:stage\` to values.`,
    );
  }
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
    if (!k.startsWith(`${CONFIG_NAMESPACE}:`)) continue;
    const isSecret = typeof v === "object" && v !== null && "secure" in v;
    if (!isSecret) raw[k.slice(CONFIG_NAMESPACE.length + 1)] = v;
  }
  return raw;
}

/** The ingress groups a stack's config names, or none when the file or the key is absent. */
export function ingressGroupsOf(raw: Record<string, unknown> | undefined): string[] {
  let v = raw?.ingressInstanceGroups;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      return [];
    }
  }
  return Array.isArray(v) ? v.filter((g): g is string => typeof g === "string") : [];
}
