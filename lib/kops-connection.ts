/** How to reach one kops cluster: the binary, the cluster name and the state store. */
export interface KopsConnection {
  /** Path or command name of kops. @default "kops" */
  readonly binary: string;
  /** Passed as `--name`. */
  readonly clusterName: string;
  /** Passed as `--state`, e.g. `s3://my-kops-state`. */
  readonly stateStore: string;
}

/** Reads the connection from the environment the components give their commands. */
export function kopsConnectionFromEnv(env: NodeJS.ProcessEnv): KopsConnection {
  const get = (k: string): string => {
    const v = env[k];
    if (!v)
      throw new Error(
        `${k} is not set; the program sets it for its commands, set it by hand otherwise.`,
      );
    return v;
  };
  return {
    binary: env.KOPS_BINARY || "kops",
    clusterName: get("KOPS_CLUSTER_NAME"),
    stateStore: get("KOPS_STATE_STORE"),
  };
}
