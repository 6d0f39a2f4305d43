/**
 * The policy pack through the real engine: an Automation API inline program previewed with
 * `policyPacks: [policy/]`, the analyzer started from bin/plugins/pulumi-analyzer-policy-nodejs.
 * Resources are rendered to YAML by the Kubernetes provider, so no cluster is needed.
 */
import { expect } from "chai";
import * as k8s from "@pulumi/kubernetes";
import * as automation from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEFAULT_POLICY_PACK } from "../../cli/promote";
import { toolchainEnv } from "../../rehearsal/toolchain";

const MULTUS = "ghcr.io/k8snetworkplumbingwg/multus-cni";

describe("the policy pack applied by the engine", function () {
  this.timeout(10 * 60 * 1000);
  let dir: string;
  let stack: automation.Stack;

  const program = (image: string) => (): Promise<void> => {
    const provider = new k8s.Provider("render", { renderYamlToDirectory: path.join(dir, "yaml") });
    const labels = { app: "multus" };
    new k8s.apps.v1.DaemonSet(
      "multus",
      {
        metadata: { name: "kube-multus", namespace: "kube-system" },
        spec: {
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: "multus", image }] } },
        },
      },
      { provider },
    );
    return Promise.resolve();
  };

  async function preview(image: string): Promise<{ ok: boolean; output: string }> {
    try {
      const r = await stack.preview({
        program: program(image),
        policyPacks: [DEFAULT_POLICY_PACK],
        color: "never",
      });
      return { ok: true, output: r.stdout };
    } catch (e) {
      return { ok: false, output: (e as Error).message };
    }
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cni-migration-policy-"));
    const env = toolchainEnv(() => undefined);
    fs.mkdirSync(path.join(dir, "state"));
    process.env.PATH = env.PATH;
    const ws = await automation.LocalWorkspace.create({
      workDir: (fs.mkdirSync(path.join(dir, "work")), path.join(dir, "work")),
      program: program(`${MULTUS}:v4.2.2`),
      envVars: {
        ...(env as Record<string, string>),
        PULUMI_HOME: path.join(dir, "home"),
        PULUMI_CONFIG_PASSPHRASE: "policy",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
      },
      projectSettings: {
        name: "policy-check",
        runtime: "nodejs",
        backend: { url: `file://${path.join(dir, "state")}` },
      },
    });
    stack = await automation.Stack.createOrSelect("check", ws);
  });

  it("fails a preview of a Multus image that is not a pinned release, naming the policy", async () => {
    const r = await preview(`${MULTUS}:snapshot`);
    expect(r.ok).to.equal(false);
    expect(r.output).to.contain("[mandatory]  multus-image-pinned");
    expect(r.output).to.contain(
      `DaemonSet kube-multus runs Multus image "${MULTUS}:snapshot", which is not a pinned release.`,
    );
  });

  it("passes a preview of a pinned Multus image under the same pack", async () => {
    const r = await preview(`${MULTUS}:v4.2.2`);
    expect(r.ok, r.output).to.equal(true);
    expect(r.output).to.contain("cni-migration@v0.1.0 (local: ");
  });
});
