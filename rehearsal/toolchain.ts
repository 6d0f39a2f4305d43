/**
 * The rehearsal's toolchain: `scripts/toolchain.sh` builds what is missing into the cache
 * outside the repository (a second run builds nothing), and its `env.sh` gives the PATH and
 * kwok settings. Pulumi is set up to run offline: no update check, no plugin download, a local
 * file backend and the plugins from the built binaries or this project.
 */
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";

export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** Builds missing tools and returns the environment that puts them first on PATH. */
export function toolchainEnv(log: (line: string) => void): NodeJS.ProcessEnv {
  const script = path.join(PROJECT_ROOT, "scripts", "toolchain.sh");
  log("toolchain: checking (a cold build takes 15-20 minutes on 2 cores; later runs take seconds)");
  const build = spawnSync("bash", [script], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (build.status !== 0) {
    throw new Error(
      `scripts/toolchain.sh failed (exit ${build.status}); see its messages above and retry.`,
    );
  }
  const cache =
    process.env.CNI_MIGRATION_CACHE ?? path.join(os.homedir(), ".cache", "cni-migration");
  const envFile = path.join(cache, "toolchain", "env.sh");
  const dump = spawnSync("bash", ["-c", `. "${envFile}" && env -0`], { encoding: "utf8" });
  if (dump.status !== 0) throw new Error(`could not read ${envFile}: ${dump.stderr}`);
  const env: NodeJS.ProcessEnv = {};
  for (const entry of dump.stdout.split("\0")) {
    const i = entry.indexOf("=");
    if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  env.PATH = `${path.join(PROJECT_ROOT, "bin", "plugins")}:${env.PATH ?? ""}`;
  return env;
}

/** The environment of Pulumi runs: offline, local state, a passphrase only for this rehearsal. */
export function pulumiEnv(
  base: NodeJS.ProcessEnv,
  out: string,
  kubeconfig: string,
): NodeJS.ProcessEnv {
  return {
    ...base,
    PULUMI_HOME: path.join(out, "pulumi-home"),
    PULUMI_BACKEND_URL: `file://${path.join(out, "pulumi-state")}`,
    PULUMI_CONFIG_PASSPHRASE: "rehearsal",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    KUBECONFIG: kubeconfig,
    CNI_MIGRATION_STEP_LOG: path.join(out, "steps.log"),
  };
}
