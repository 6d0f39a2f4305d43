import { expect } from "chai";
import {
  AddressClassifier,
  NETWORK_STATUS_ANNOTATION,
  coveringCidr,
  ipv4ToNumber,
  parseNetworkStatus,
  podNetwork,
  primaryInterface,
} from "../../lib/pod-network";
import { PodLike } from "../../lib/snapshot";

const classifier = new AddressClassifier({
  canal: ["100.96.2.0/24", "100.96.0.0/24", "100.96.1.0/24"],
  cilium: ["100.72.0.0/13"],
});

function pod(annotation: unknown, podIP?: string, hostNetwork?: boolean): PodLike {
  return {
    metadata: {
      name: "p",
      namespace: "ns",
      annotations:
        annotation === undefined
          ? {}
          : {
              [NETWORK_STATUS_ANNOTATION]:
                typeof annotation === "string" ? annotation : JSON.stringify(annotation),
            },
    },
    spec: { nodeName: "n", hostNetwork },
    status:
      podIP === undefined
        ? { phase: "Pending" }
        : { phase: "Running", podIP, podIPs: [{ ip: podIP }] },
  };
}

describe("pod networks", () => {
  it("reads the network-status annotation, keeping only the fields it knows", () => {
    expect(
      parseNetworkStatus(
        JSON.stringify([
          { name: "k8s-pod-network", ips: ["100.96.0.4"], default: true, dns: {} },
          { name: "cilium-sbr", interface: "net1", ips: ["100.72.0.9"], mac: "aa:bb" },
        ]),
      ),
    ).to.deep.equal([
      { name: "k8s-pod-network", ips: ["100.96.0.4"], default: true },
      { name: "cilium-sbr", interface: "net1", ips: ["100.72.0.9"], mac: "aa:bb" },
    ]);
    expect(parseNetworkStatus("not json")).to.equal(undefined);
    expect(parseNetworkStatus('{"name": "x"}')).to.equal(undefined);
    expect(parseNetworkStatus("[1]")).to.equal(undefined);
    expect(parseNetworkStatus(undefined)).to.equal(undefined);
  });

  it("takes the default entry as primary, even when calico left out its interface", () => {
    const p = pod(
      [
        { name: "cilium-sbr", interface: "net1", ips: ["100.72.0.9"] },
        { name: "k8s-pod-network", ips: ["100.96.0.4"], default: true },
      ],
      "100.96.0.4",
    );
    expect(primaryInterface(p)).to.deep.equal({ ips: ["100.96.0.4"], name: "k8s-pod-network" });
    expect(podNetwork(p, classifier)).to.equal("canal");
  });

  it("without a default entry, takes the entry holding the pod IP", () => {
    const p = pod(
      [
        { name: "cbr0", interface: "net1", ips: ["100.96.1.8"] },
        { name: "cilium", interface: "eth0", ips: ["100.72.3.3"] },
      ],
      "100.72.3.3",
    );
    expect(podNetwork(p, classifier)).to.equal("cilium");
  });

  it("places pods without the annotation, or with a broken one, by their pod IP", () => {
    expect(podNetwork(pod(undefined, "100.96.2.200"), classifier)).to.equal("canal");
    expect(podNetwork(pod("[{", "100.79.255.255"), classifier)).to.equal("cilium");
  });

  it("tells host-network pods, pods without an address and addresses in neither network apart", () => {
    expect(podNetwork(pod(undefined, "172.20.0.1", true), classifier)).to.equal("host");
    expect(podNetwork(pod(undefined), classifier)).to.equal("none");
    expect(podNetwork(pod(undefined, "100.96.3.1"), classifier)).to.equal("unknown");
    expect(podNetwork(pod(undefined, "fd00::1"), classifier)).to.equal("unknown");
  });

  it("falls back to the primary network's name when its address is in neither range", () => {
    const p = pod([{ name: "kube-system/cilium", ips: ["10.1.1.1"], default: true }], "10.1.1.1");
    expect(podNetwork(p, classifier)).to.equal("cilium");
  });

  it("does IPv4 arithmetic exactly", () => {
    expect(ipv4ToNumber("255.255.255.255")).to.equal(4294967295);
    expect(ipv4ToNumber("1.2.3.256")).to.equal(undefined);
    expect(ipv4ToNumber("1.2.3")).to.equal(undefined);
    expect(coveringCidr(["100.96.0.0/24", "100.96.5.0/24"])).to.equal("100.96.0.0/21");
    expect(coveringCidr(["100.96.0.0/24"])).to.equal("100.96.0.0/24");
    expect(coveringCidr(["10.0.0.0/8", "200.0.0.0/8"])).to.equal("0.0.0.0/0");
    expect(coveringCidr(["bad", "fd00::/64"])).to.equal(undefined);
  });
});
