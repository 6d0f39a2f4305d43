import { expect } from "chai";
import { runCommand } from "../../lib/exec";

const node = process.execPath;

describe("runCommand", () => {
  it("resolves with what the command printed on stdout and stderr", async () => {
    const out = await runCommand(
      node,
      ["-e", "process.stdout.write('out;'); process.stderr.write('err')"],
      process.env,
    );
    expect(out).to.equal("out;err");
  });

  it("rejects naming the command, its exit code and its output", async () => {
    const e = await runCommand(
      node,
      ["-e", "console.error('no such group'); process.exit(3)"],
      process.env,
    ).catch((err: Error) => err);
    expect((e as Error).message).to.equal(
      `\`${node} -e console.error('no such group'); process.exit(3)\` failed (exit 3): no such group`,
    );
  });

  it("stops a command that outlives its time limit and says so", async () => {
    const e = await runCommand(
      node,
      ["-e", "console.log('started'); setTimeout(() => {}, 60000)"],
      process.env,
      300,
    ).catch((err: Error) => err);
    expect((e as Error).message).to.equal(
      `\`${node} -e console.log('started'); setTimeout(() => {}, 60000)\` was stopped by SIGTERM at its time limit of 300ms: started`,
    );
  });

  it("rejects when the program does not exist", async () => {
    const e = await runCommand("cni-migration-no-such-program", [], process.env).catch(
      (err: Error) => err,
    );
    expect((e as Error).message).to.match(/^could not run cni-migration-no-such-program: .*ENOENT/);
  });
});
