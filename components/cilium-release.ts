import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CILIUM_RELEASE, KUBE_SYSTEM } from "../lib/labels";
import { Values } from "../lib/values";
import { childDependsOn } from "./options";

export interface CiliumReleaseArgs {
  /** A Helm repository URL, or a local chart directory or `.tgz`. */
  readonly chart: string;
  /** Chart version; used with a repository only. */
  readonly version: string;
  /** The complete values of the stage (see `ciliumValues`). */
  readonly values: Values;
  /** How long Helm waits for the release's resources. @default 900 (seconds) */
  readonly timeoutSeconds?: number;
}

/** Whether a chart reference is a Helm repository rather than a local path. */
export function isRepository(chart: string): boolean {
  return /^(https?|oci):\/\//.test(chart);
}

/**
 * The Cilium Helm release. Never atomic: an atomic release uninstalls the chart when an upgrade
 * fails, which would take the CNI off every node. A release left `pending-upgrade` by an
 * interrupted `up` needs `helm rollback cilium -n kube-system` before the next `up`.
 *
 * @see https://docs.cilium.io/en/stable/installation/k8s-install-helm/
 */
export class CiliumRelease extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: CiliumReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cni-migration:cilium:CiliumRelease", name, {}, opts);
    const repo = isRepository(args.chart);
    this.release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: CILIUM_RELEASE,
        namespace: KUBE_SYSTEM,
        chart: repo ? "cilium" : args.chart,
        version: repo ? args.version : undefined,
        repositoryOpts: repo ? { repo: args.chart } : undefined,
        values: args.values,
        atomic: false,
        cleanupOnFail: false,
        maxHistory: 10,
        timeout: args.timeoutSeconds ?? 900,
      },
      { parent: this, dependsOn: childDependsOn(opts) },
    );
    this.registerOutputs({ status: this.release.status });
  }
}
