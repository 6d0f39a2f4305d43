/** Spec files for rehearsals: the fixture cluster, changed the way a test needs. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { KopsObject } from "../../lib/kops";
import { FIXTURE_CLUSTER, fixtureSpecs } from "../support/harness";

export { FIXTURE_CLUSTER };

/** Writes the fixture's specs, changed by `edit`, to a temporary `kops get all -o yaml` file. */
export function specFile(
  edit: (objects: KopsObject[]) => void,
  opts: { ingressGroup?: boolean } = {},
): string {
  const objects = fixtureSpecs(opts);
  edit(objects);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-e2e-"));
  const file = path.join(dir, "cluster.yaml");
  fs.writeFileSync(file, objects.map((o) => YAML.stringify(o)).join("---\n"));
  return file;
}

/** Reads a `kops get all -o yaml` file the rehearsal wrote. */
export function readSpecs(file: string): KopsObject[] {
  return YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))
    .map((d) => d.toJS() as KopsObject | null)
    .filter((o): o is KopsObject => o !== null);
}

/** Deletes the simulated cluster a rehearsal run with `keepCluster` left in `out`. */
export function deleteKeptCluster(out: string, env: NodeJS.ProcessEnv): void {
  const workDir = path.join(out, "kwok");
  for (const name of fs.readdirSync(path.join(workDir, "clusters"))) {
    const r = spawnSync("kwokctl", ["delete", "cluster", "--name", name], {
      env: { ...env, KWOK_WORKDIR: workDir },
      encoding: "utf8",
    });
    if (r.status !== 0)
      throw new Error(`kwokctl delete cluster --name ${name} failed: ${r.stderr}`);
  }
}
