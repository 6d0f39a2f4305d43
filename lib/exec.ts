/** Running the external programs cni-migration drives (kops, kwokctl, kubectl). */
import { spawn } from "node:child_process";

/** Runs a command; rejects with its output when it fails or outlives `timeoutMs`. */
export function runCommand(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 15 * 60_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, timeout: timeoutMs });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.on("error", (e) => reject(new Error(`could not run ${cmd}: ${e.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) return resolve(out);
      const how =
        code === null
          ? `was stopped by ${signal ?? "a signal"}` +
            (child.killed ? ` at its time limit of ${limit(timeoutMs)}` : "")
          : `failed (exit ${code})`;
      reject(new Error(`\`${cmd} ${args.join(" ")}\` ${how}: ${out.trim()}`));
    });
  });
}

const limit = (ms: number): string => (ms < 1000 ? `${ms}ms` : `${Math.round(ms / 1000)}s`);
