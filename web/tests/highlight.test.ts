import { describe, expect, it } from "vitest";
import { citationParts, highlight, terms } from "../src/highlight";
import { ratingCounts } from "../src/screens/Analytics";

describe("highlight", () => {
  it("marks the query's words at word starts, case-insensitively", () => {
    const segs = highlight("Refunds: customers may return a robot within 45 days.", "how many DAYS to return a refund");
    expect(segs.filter((s) => s.match).map((s) => s.text)).toEqual(["Refund", "return", "days"]);
    expect(segs.map((s) => s.text).join("")).toBe("Refunds: customers may return a robot within 45 days.");
  });

  it("ignores stop words, short words and regex characters in the query", () => {
    expect(terms("What is the (a+b)* policy?")).toEqual(["policy", "is"]);
    expect(highlight("text", "")).toEqual([{ text: "text", match: false }]);
  });
});

describe("citationParts", () => {
  it("splits an answer at [n] markers", () => {
    expect(citationParts("Staff get 25 days [1]. Carry over 5 [2][3].")).toEqual([
      "Staff get 25 days ",
      1,
      ". Carry over 5 ",
      2,
      3,
      ".",
    ]);
  });
});

describe("ratingCounts", () => {
  it("counts ratings 1 to 5 and ignores anything else", () => {
    expect(ratingCounts([{ rating: 5 }, { rating: 1 }, { rating: 5 }, { rating: null }, { rating: 9 }])).toEqual([
      1, 0, 0, 0, 2,
    ]);
  });
});
