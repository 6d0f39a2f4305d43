import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";

/** The project's CLI, resolved where the program runs and captured by the provider. */
const CLI_PATH = path.resolve(__dirname, "..", "bin", "cni-migration");

export interface StepArgs {
  /** The CLI words after `cni-migration`, e.g. `["kops-apply", "cluster", "--stage", "1"]`. */
  readonly args: pulumi.Input<string[]>;
  /** Extra environment of the step, e.g. the kops cluster and state store. @default {} */
  readonly environment?: pulumi.Input<Record<string, string>>;
  /** When any of these change the step is replaced, so it runs again. @default [] */
  readonly triggers?: pulumi.Input<unknown[]>;
}

interface StepInputs {
  args: string[];
  environment: Record<string, string>;
  triggers: unknown[];
}

/**
 * Runs one step of the project's CLI as a resource: on create, on replacement (its triggers
 * changed) and on update (its arguments changed); never on a repeated `up` with the same inputs,
 * and never on delete. A failed step is not recorded, so the next `up` runs it again. The step's
 * output is kept (its last 8 KiB) and written to `$CNI_MIGRATION_STEP_LOG` when that is set.
 *
 * A dynamic provider rather than `@pulumi/command`, so that the program needs no provider binary
 * beyond the Kubernetes one.
 */
export const stepProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: StepInputs) {
    const output = await runStep(inputs);
    return {
      id: `${inputs.args[0] ?? "step"}-${Date.now().toString(36)}`,
      outs: { ...inputs, output },
    };
  },
  diff(_id: string, olds: StepInputs, news: StepInputs) {
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
    const replaces = same(olds.triggers, news.triggers) ? [] : ["triggers"];
    const changes =
      replaces.length > 0 ||
      !same(olds.args, news.args) ||
      !same(olds.environment, news.environment);
    return Promise.resolve({ changes, replaces, deleteBeforeReplace: false });
  },
  async update(_id: string, _olds: StepInputs, news: StepInputs) {
    const output = await runStep(news);
    return { outs: { ...news, output } };
  },
};

function runStep(inputs: StepInputs): Promise<string> {
  // Loaded here: this function runs in the dynamic provider's process.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawn } = require("node:child_process") as typeof import("node:child_process");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require("node:fs") as typeof import("node:fs");
  const logFile = process.env.CNI_MIGRATION_STEP_LOG;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...inputs.args], {
      env: { ...process.env, ...inputs.environment },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let tail = "";
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString("utf8")).slice(-8192);
      if (logFile) fs.appendFileSync(logFile, chunk);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", (e) =>
      reject(new Error(`could not start cni-migration ${inputs.args.join(" ")}: ${e.message}`)),
    );
    child.on("close", (code) => {
      if (code === 0) resolve(tail);
      else
        reject(
          new Error(
            `cni-migration ${inputs.args.join(" ")} failed (exit ${code}):\n${tail.trim()}`,
          ),
        );
    });
  });
}

/** One step of the migration that runs the project's CLI (see {@link stepProvider}). */
export class Step extends pulumi.dynamic.Resource {
  /** The last 8 KiB of what the step printed. */
  public readonly output!: pulumi.Output<string>;

  constructor(name: string, args: StepArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      stepProvider,
      name,
      {
        args: args.args,
        environment: args.environment ?? {},
        triggers: args.triggers ?? [],
        output: undefined,
      },
      opts,
      "cni-migration",
      "Step",
    );
  }
}
