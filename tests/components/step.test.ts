import { expect } from "chai";
import { stepProvider } from "../../components/step";

const inputs = (args: string[], triggers: unknown[] = [1]) => ({
  args,
  environment: { KOPS_CLUSTER_NAME: "c" },
  triggers,
});

describe("Step", () => {
  const diff = stepProvider.diff as NonNullable<typeof stepProvider.diff>;

  it("does nothing on a repeated up with the same inputs", async () => {
    expect(
      await diff("id", inputs(["kops-apply", "cluster"]), inputs(["kops-apply", "cluster"])),
    ).to.deep.equal({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("runs again, as a replacement, when its triggers change", async () => {
    expect(await diff("id", inputs(["a"], [1]), inputs(["a"], [2]))).to.deep.equal({
      changes: true,
      replaces: ["triggers"],
      deleteBeforeReplace: false,
    });
  });

  it("runs again, as an update, when its arguments change", async () => {
    expect(
      await diff("id", inputs(["a", "--timeout", "6h"]), inputs(["a", "--timeout", "8h"])),
    ).to.deep.equal({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("runs the project's CLI and fails with its message", async () => {
    const create = stepProvider.create.bind(stepProvider);
    let message = "";
    try {
      await create(inputs(["kops-apply", "cluster", "--stage", "9"]));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.match(/^cni-migration kops-apply cluster --stage 9 failed \(exit 1\):\n/);
    expect(message).to.contain('`--stage` is "9", which is not a stage.');
  });
});
