import { expect } from "chai";
import {
  PolicyResource,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import {
  POLICIES,
  TYPES,
  canalPatchKept,
  ciliumNotAtomic,
  ciliumNotExclusive,
  imageVersion,
  multusImagePinned,
  nodeConfigV2,
} from "../../policy/policies";

interface Res {
  type: string;
  name: string;
  props: Record<string, unknown>;
}

const urn = (r: Res): string => `urn:pulumi:stage2::cni-migration::${r.type}::${r.name}`;

/** Runs a resource policy on one resource; returns the violations it reported. */
function checkResource(policy: ResourceValidationPolicy, r: Res): string[] {
  const out: string[] = [];
  const args = {
    ...r,
    urn: urn(r),
    opts: {},
    stackTags: new Map(),
  } as unknown as ResourceValidationArgs;
  void (policy.validateResource as ResourceValidation)(args, (m: string) => out.push(m));
  return out;
}

/** Runs a stack policy on a stack; returns the violations it reported. */
function checkStack(policy: StackValidationPolicy, resources: Res[]): string[] {
  const out: string[] = [];
  const args = {
    resources: resources.map((r) => ({
      ...r,
      urn: urn(r),
      opts: {},
      dependencies: [],
    })) as unknown as PolicyResource[],
    stackTags: new Map(),
  } as unknown as StackValidationArgs;
  void policy.validateStack(args, (m: string) => out.push(m));
  return out;
}

const record = (stage: number): Res => ({
  type: TYPES.configMap,
  name: "stage-record-configmap",
  props: { metadata: { name: "cni-migration-stage" }, data: { stage: String(stage) } },
});
const canalPatch: Res = {
  type: TYPES.daemonSetPatch,
  name: "canal-patch",
  props: { metadata: { name: "canal", namespace: "kube-system" } },
};
const multus: Res = {
  type: TYPES.daemonSet,
  name: "multus-canal",
  props: {
    metadata: { name: "kube-multus" },
    spec: {
      template: {
        spec: { containers: [{ image: "ghcr.io/k8snetworkplumbingwg/multus-cni:v4.2.2" }] },
      },
    },
  },
};
const release = (props: Record<string, unknown>): Res => ({
  type: TYPES.release,
  name: "cilium-release",
  props,
});

describe("the policy pack", () => {
  it("has the five policies, all mandatory", () => {
    expect(POLICIES.map((p) => [p.name, p.enforcementLevel])).to.deep.equal([
      ["canal-patch-kept-before-stage-4", "mandatory"],
      ["cilium-release-not-atomic", "mandatory"],
      ["cilium-not-exclusive-with-other-cnis", "mandatory"],
      ["cilium-node-config-v2", "mandatory"],
      ["multus-image-pinned", "mandatory"],
    ]);
  });

  it("denies a stage before 4 without the canal patch, and allows it with it or in stage 4", () => {
    expect(checkStack(canalPatchKept, [record(3)])).to.deep.equal([
      "stage 3 declares no kubernetes:apps/v1:DaemonSetPatch of kube-system/canal; the canal " +
        "patch may be removed only in stage 4. Keep `CanalPatch` in the program for stages 0-3.",
    ]);
    expect(checkStack(canalPatchKept, [record(3), canalPatch])).to.deep.equal([]);
    expect(checkStack(canalPatchKept, [record(4)])).to.deep.equal([]);
  });

  it("denies an atomic Cilium release and allows a non-atomic one", () => {
    expect(checkResource(ciliumNotAtomic, release({ atomic: true }))).to.deep.equal([
      "Helm release cilium-release has `atomic: true`; a failed upgrade would uninstall the CNI. " +
        "Set `atomic: false` and recover a failed release with `helm rollback`.",
    ]);
    expect(checkResource(ciliumNotAtomic, release({ atomic: false }))).to.deep.equal([]);
  });

  it("denies cni.exclusive while Multus or canal remain, and allows it once they are gone", () => {
    const exclusive = release({ values: { cni: { exclusive: true } } });
    expect(checkStack(ciliumNotExclusive, [exclusive, multus, canalPatch])).to.deep.equal([
      "Helm release cilium-release sets `cni.exclusive: true` while Multus (kube-multus), canal " +
        "(canal) remain; Cilium would disable their CNI configs. Set `cni.exclusive: false` " +
        "(`cni-migration:cilium.values`) until stage 4.",
    ]);
    expect(checkStack(ciliumNotExclusive, [exclusive])).to.deep.equal([]);
    const shared = release({ values: { cni: { exclusive: false } } });
    expect(checkStack(ciliumNotExclusive, [shared, multus, canalPatch])).to.deep.equal([]);
  });

  it("denies a CiliumNodeConfig other than cilium.io/v2", () => {
    const config = (apiVersion: string): Res => ({
      type: `kubernetes:${apiVersion}:CiliumNodeConfig`,
      name: "kpr-off",
      props: { apiVersion, kind: "CiliumNodeConfig" },
    });
    expect(checkResource(nodeConfigV2, config("cilium.io/v2alpha1"))).to.deep.equal([
      'CiliumNodeConfig kpr-off has apiVersion "cilium.io/v2alpha1"; only "cilium.io/v2" is ' +
        "allowed (v2alpha1 is removed in Cilium 1.20). Set apiVersion: cilium.io/v2.",
    ]);
    expect(checkResource(nodeConfigV2, config("cilium.io/v2"))).to.deep.equal([]);
    expect(checkResource(nodeConfigV2, canalPatch)).to.deep.equal([]);
  });

  it("denies a Multus image that is not a pinned release, allows tags vX.Y.Z and digests", () => {
    const ds = (image: string): Res => ({
      ...multus,
      props: { ...multus.props, spec: { template: { spec: { containers: [{ image }] } } } },
    });
    const image = "ghcr.io/k8snetworkplumbingwg/multus-cni";
    expect(checkResource(multusImagePinned, ds(`${image}:snapshot`))).to.deep.equal([
      `DaemonSet kube-multus runs Multus image "${image}:snapshot", which is not a pinned ` +
        "release. Set `cni-migration:multus.image` to a released tag or digest, e.g. " +
        "ghcr.io/k8snetworkplumbingwg/multus-cni:v4.2.2.",
    ]);
    expect(checkResource(multusImagePinned, ds(image))).to.have.length(1);
    expect(checkResource(multusImagePinned, ds(`${image}:latest`))).to.have.length(1);
    expect(checkResource(multusImagePinned, ds(`${image}:v4.2.2`))).to.deep.equal([]);
    expect(checkResource(multusImagePinned, ds(`${image}@sha256:abc`))).to.deep.equal([]);
    expect(checkResource(multusImagePinned, ds("docker.io/library/busybox:latest"))).to.deep.equal(
      [],
    );
  });

  it("reads tags and digests of image references, registry ports included", () => {
    expect(imageVersion("reg:5000/multus-cni:v4.2.2")).to.deep.equal({ tag: "v4.2.2" });
    expect(imageVersion("reg:5000/multus-cni")).to.deep.equal({});
    expect(imageVersion("multus-cni@sha256:ab")).to.deep.equal({ digest: "sha256:ab" });
  });
});
