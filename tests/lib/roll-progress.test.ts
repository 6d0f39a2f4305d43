import { expect } from "chai";
import { rollProgress } from "../../lib/roll-progress";

const at = (minute: number): number => Date.UTC(2026, 11, 3, 9, minute);

describe("roll progress", () => {
  it("estimates the time left from the pace of the replaced nodes' creation", () => {
    // GIVEN three replaced nodes created 10 and 20 minutes apart, and four nodes left
    const nodes = [
      { done: true, createdAt: at(0) },
      { done: true, createdAt: at(30) },
      { done: true, createdAt: at(10) },
      ...[1, 2, 3, 4].map(() => ({ done: false, createdAt: at(-600) })),
    ];
    // THEN the mean interval is 15 minutes, so four nodes take an hour
    expect(rollProgress(nodes)).to.deep.equal({ total: 7, done: 3, left: 4, etaSeconds: 3600 });
  });

  it("gives no estimate before two nodes of different creation times are done", () => {
    expect(
      rollProgress([
        { done: true, createdAt: at(0) },
        { done: false, createdAt: at(0) },
      ]),
    ).to.deep.equal({ total: 2, done: 1, left: 1, etaSeconds: undefined });
    expect(
      rollProgress([
        { done: true, createdAt: at(5) },
        { done: true, createdAt: at(5) },
        { done: true, createdAt: undefined },
        { done: false, createdAt: at(0) },
      ]).etaSeconds,
    ).to.equal(undefined);
  });

  it("is finished with nothing left", () => {
    expect(rollProgress([{ done: true, createdAt: undefined }])).to.deep.equal({
      total: 1,
      done: 1,
      left: 0,
      etaSeconds: 0,
    });
  });
});
