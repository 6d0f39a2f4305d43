import type * as k8s from "@kubernetes/client-node";
import { expect } from "chai";
import { validationFailures } from "../../rehearsal/kops-sim";

const ready = [{ type: "Ready", status: "True" }];
const notReady = [{ type: "Ready", status: "False" }];

const node = (name: string, role: string, conditions = ready): k8s.V1Node => ({
  metadata: { name, labels: { "kubernetes.io/role": role } },
  status: { conditions },
});

const pod = (
  name: string,
  priorityClassName: string | undefined,
  phase: string,
  conditions = ready,
  terminating = false,
): k8s.V1Pod => ({
  metadata: {
    name,
    namespace: "kube-system",
    ...(terminating ? { deletionTimestamp: new Date("2026-12-03T00:00:00Z") } : {}),
  },
  spec: { containers: [], priorityClassName },
  status: { phase, conditions },
});

const daemonSet = (name: string, numberReady: number, desired: number): k8s.V1DaemonSet => ({
  metadata: { name, namespace: "kube-system" },
  status: {
    numberReady,
    desiredNumberScheduled: desired,
    currentNumberScheduled: desired,
    numberMisscheduled: 0,
  },
});

describe("the kops simulator's cluster validation", () => {
  it("passes a cluster whose nodes, critical pods and DaemonSets are all ready", () => {
    expect(
      validationFailures({
        nodes: [node("master-0", "master"), node("nodes-0", "node")],
        pods: [pod("canal-a", "system-node-critical", "Running")],
        daemonSets: [daemonSet("canal", 2, 2)],
      }),
    ).to.deep.equal([]);
  });

  it("fails on a NotReady node, pending or unready critical pods and a DaemonSet short of ready pods", () => {
    expect(
      validationFailures({
        nodes: [node("nodes-1", "node", notReady), node("nodes-2", "node")],
        pods: [
          pod("canal-b", "system-node-critical", "Pending", []),
          pod("coredns-1", "system-cluster-critical", "Running", notReady),
          pod("web-1", undefined, "Pending", []),
          pod("canal-old", "system-node-critical", "Running", notReady, true),
        ],
        daemonSets: [daemonSet("canal", 1, 2)],
      }),
    ).to.deep.equal([
      'node "nodes-1" of role "node" is not ready',
      'system-node-critical pod "kube-system/canal-b" is pending',
      'system-cluster-critical pod "kube-system/coredns-1" is not ready',
      'daemonset "kube-system/canal" has 1 of 2 pods ready',
    ]);
  });
});
