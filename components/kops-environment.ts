/** The environment the components give their CLI steps. */
import { KopsConnection } from "../lib/kops-connection";

/** The kops connection as environment variables the CLI reads (and kops itself honours). */
export function kopsEnvironment(kops: KopsConnection): Record<string, string> {
  return {
    KOPS_BINARY: kops.binary,
    KOPS_CLUSTER_NAME: kops.clusterName,
    KOPS_STATE_STORE: kops.stateStore,
  };
}
