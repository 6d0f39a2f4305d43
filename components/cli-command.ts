/**
 * Commands the components run through the project's own CLI (`bin/cni-migration`), invoked by a
 * path relative to the project directory so that a stack's state does not depend on where the
 * project is checked out.
 */
import { KopsConnection } from "../lib/kops-connection";

/** The CLI as the command provider runs it, from the project directory. */
export const CLI = "node bin/cni-migration";

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A CLI command line from its words. */
export function cliCommand(...words: string[]): string {
  return [CLI, ...words.map(shellQuote)].join(" ");
}

/** The kops connection as environment variables the CLI reads (and kops itself honours). */
export function kopsEnvironment(kops: KopsConnection): Record<string, string> {
  return {
    KOPS_BINARY: kops.binary,
    KOPS_CLUSTER_NAME: kops.clusterName,
    KOPS_STATE_STORE: kops.stateStore,
  };
}
