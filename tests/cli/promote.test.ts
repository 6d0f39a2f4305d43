import { expect } from "chai";
import { CommanderError } from "commander";
import { buildCli } from "../../cli/main";

/** Parses a command line without running it; returns what commander wrote to stderr. */
async function parseError(args: string[]): Promise<string> {
  const cli = buildCli();
  let err = "";
  for (const c of [cli, ...cli.commands]) {
    c.exitOverride().configureOutput({ writeErr: (s) => (err += s), writeOut: () => undefined });
  }
  try {
    await cli.parseAsync(["node", "cni-migration", ...args]);
  } catch (e) {
    expect(e).to.be.instanceOf(CommanderError);
    return err.split("\n")[0] ?? "";
  }
  throw new Error("expected the command line to be refused");
}

describe("cni-migration promote's command line", () => {
  it("refuses a stage out of range, listing the valid ones", async () => {
    expect(await parseError(["promote", "--to", "7"])).to.equal(
      "error: option '--to <n>' argument '7' is invalid. `--to` is \"7\", which is not a stage. " +
        "Valid stages: 0 (prepare), 1 (dual, canal primary), 2 (dual, cilium primary), " +
        "3 (cilium + KPR), 4 (complete). Set it to one of these numbers.",
    );
  });

  it("refuses a duration it cannot read, with examples", async () => {
    expect(await parseError(["promote", "--to", "2", "--min-soak", "3d"])).to.equal(
      "error: option '--min-soak <duration>' argument '3d' is invalid. --min-soak is \"3d\"; " +
        "give a duration such as 30m, 2h or 1h30m (h, m, s).",
    );
  });

  it("requires --to", async () => {
    expect(await parseError(["promote", "--preview"])).to.equal(
      "error: required option '--to <n>' not specified",
    );
  });
});
