/**
 * The policies of the migration's pack, as plain objects so tests can call their validate
 * functions directly. Each guards a fact of the migration that a config change or a code change
 * could break silently; every message names the resource, the value seen and the fix.
 */
import {
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";

/** Resource types the policies read, as the pulumi-kubernetes provider registers them. */
export const TYPES = {
  daemonSetPatch: "kubernetes:apps/v1:DaemonSetPatch",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  configMap: "kubernetes:core/v1:ConfigMap",
  release: "kubernetes:helm.sh/v3:Release",
} as const;

const CANAL = "canal";
const STAGE_RECORD = "cni-migration-stage";
const MULTUS_DAEMONSETS = ["kube-multus", "kube-multus-cilium"];
const COMPLETE_STAGE = 4;

/** A released Multus tag (`v4.2.2`, optionally `-thick`) or a digest. */
const PINNED_TAG = /^v\d+\.\d+\.\d+(-thick)?$/;

interface Named {
  readonly type: string;
  readonly props: Record<string, unknown>;
}

const metaName = (r: Named): string | undefined =>
  (r.props.metadata as { name?: string } | undefined)?.name;

/** The tag or digest of an image reference; undefined when it has neither. */
export function imageVersion(image: string): { tag?: string; digest?: string } {
  const at = image.indexOf("@");
  if (at >= 0) return { digest: image.slice(at + 1) };
  const lastSlash = image.lastIndexOf("/");
  const colon = image.indexOf(":", lastSlash + 1);
  return colon >= 0 ? { tag: image.slice(colon + 1) } : {};
}

/** The stage the stack applies, from the stage record it declares; undefined without one. */
export function stackStage(resources: readonly Named[]): number | undefined {
  const record = resources.find((r) => r.type === TYPES.configMap && metaName(r) === STAGE_RECORD);
  const stage = (record?.props.data as { stage?: string } | undefined)?.stage;
  return stage === undefined ? undefined : Number(stage);
}

export const canalPatchKept: StackValidationPolicy = {
  name: "canal-patch-kept-before-stage-4",
  description:
    "Stages 0 to 3 keep the canal DaemonSet patch (nodeSelector, /run/flannel): deleting the " +
    "Patch relinquishes its fields, and canal would run on every node again.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const stage = stackStage(args.resources);
    if (stage === undefined || stage >= COMPLETE_STAGE) return;
    const kept = args.resources.some(
      (r) => r.type === TYPES.daemonSetPatch && metaName(r) === CANAL,
    );
    if (!kept) {
      report(
        `stage ${stage} declares no ${TYPES.daemonSetPatch} of kube-system/${CANAL}; the canal ` +
          `patch may be removed only in stage 4. Keep \`CanalPatch\` in the program for stages 0-3.`,
      );
    }
  },
};

export const ciliumNotAtomic: ResourceValidationPolicy = {
  name: "cilium-release-not-atomic",
  description:
    "An atomic Helm release uninstalls the chart when an upgrade fails: for a CNI that cuts " +
    "every pod off its network.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== TYPES.release || args.props.atomic !== true) return;
    report(
      `Helm release ${args.name} has \`atomic: true\`; a failed upgrade would uninstall the CNI. ` +
        `Set \`atomic: false\` and recover a failed release with \`helm rollback\`.`,
    );
  },
};

export const ciliumNotExclusive: StackValidationPolicy = {
  name: "cilium-not-exclusive-with-other-cnis",
  description:
    "`cni.exclusive: true` renames every other CNI config (Multus's, canal's) to *.cilium_bak; " +
    "it must stay false while Multus or canal remain.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const others = args.resources
      .filter(
        (r) =>
          (r.type === TYPES.daemonSet && MULTUS_DAEMONSETS.includes(metaName(r) ?? "")) ||
          (r.type === TYPES.daemonSetPatch && metaName(r) === CANAL),
      )
      .map((r) => `${r.type === TYPES.daemonSetPatch ? "canal" : "Multus"} (${metaName(r)})`);
    if (others.length === 0) return;
    for (const r of args.resources) {
      const values = r.props.values as { cni?: { exclusive?: unknown } } | undefined;
      if (r.type === TYPES.release && values?.cni?.exclusive === true) {
        report(
          `Helm release ${r.name} sets \`cni.exclusive: true\` while ${others.join(", ")} ` +
            `remain; Cilium would disable their CNI configs. Set \`cni.exclusive: false\` ` +
            `(\`cni-migration:cilium.values\`) until stage 4.`,
          r.urn,
        );
      }
    }
  },
};

export const nodeConfigV2: ResourceValidationPolicy = {
  name: "cilium-node-config-v2",
  description:
    "CiliumNodeConfig must be cilium.io/v2: v2alpha1 is deprecated and removed in Cilium 1.20.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.props.kind !== "CiliumNodeConfig" && !args.type.endsWith(":CiliumNodeConfig")) return;
    const apiVersion = args.props.apiVersion as string | undefined;
    if (apiVersion === "cilium.io/v2") return;
    report(
      `CiliumNodeConfig ${args.name} has apiVersion ${JSON.stringify(apiVersion)}; only ` +
        `"cilium.io/v2" is allowed (v2alpha1 is removed in Cilium 1.20). Set apiVersion: cilium.io/v2.`,
    );
  },
};

export const multusImagePinned: ResourceValidationPolicy = {
  name: "multus-image-pinned",
  description:
    "The Multus image must be a released tag (vX.Y.Z) or a digest, never snapshot or latest.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== TYPES.daemonSet) return;
    const spec = args.props.spec as
      | {
          template?: {
            spec?: { containers?: { image?: string }[]; initContainers?: { image?: string }[] };
          };
        }
      | undefined;
    const pod = spec?.template?.spec;
    for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
      const image = c.image ?? "";
      if (!image.includes("multus-cni")) continue;
      const v = imageVersion(image);
      if (v.digest !== undefined || (v.tag !== undefined && PINNED_TAG.test(v.tag))) continue;
      report(
        `DaemonSet ${metaName(args) ?? args.name} runs Multus image ${JSON.stringify(image)}, ` +
          `which is not a pinned release. Set \`cni-migration:multus.image\` to a released tag ` +
          `or digest, e.g. ghcr.io/k8snetworkplumbingwg/multus-cni:v4.2.2.`,
      );
    }
  },
};

/** Every policy of the pack, in the order they are listed. */
export const POLICIES: readonly (ResourceValidationPolicy | StackValidationPolicy)[] = [
  canalPatchKept,
  ciliumNotAtomic,
  ciliumNotExclusive,
  nodeConfigV2,
  multusImagePinned,
];
