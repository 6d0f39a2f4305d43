import { expect } from "chai";
import { cidrsOverlap, freePool } from "../../lib/cidr";

describe("CIDR checks", () => {
  it("finds overlaps in either direction and none between neighbours", () => {
    expect(cidrsOverlap("100.96.0.0/11", "100.96.4.0/24")).to.equal(true);
    expect(cidrsOverlap("100.96.4.0/24", "100.96.0.0/11")).to.equal(true);
    expect(cidrsOverlap("100.72.0.0/13", "100.64.0.0/13")).to.equal(false);
    expect(cidrsOverlap("100.72.0.0/13", "100.80.0.0/13")).to.equal(false);
  });

  it("suggests the first free pool of the same size inside the non-masquerade range", () => {
    const kops = [
      { cidr: "100.64.0.0/13", what: "services" },
      { cidr: "100.72.0.0/13", what: "pods" },
      { cidr: "100.72.3.0/24", what: "a node" },
    ];
    expect(freePool("100.72.0.0/13", "100.64.0.0/10", kops)).to.equal("100.80.0.0/13");
    expect(freePool("100.72.0.0/16", "100.64.0.0/10", kops)).to.equal("100.80.0.0/16");
  });

  it("suggests nothing when the range is full", () => {
    expect(
      freePool("100.64.0.0/11", "100.64.0.0/10", [{ cidr: "100.64.0.0/10", what: "all" }]),
    ).to.equal(undefined);
  });
});
