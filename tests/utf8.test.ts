/** UTF-8 lengths counted in JS agree with TextEncoder for every string UTF-8 can hold. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { loneSurrogateAt, utf8Length } from "../src/utf8.ts";

const encoder = new TextEncoder();
const isWellFormed = (text: string) => (text as string & { isWellFormed(): boolean }).isWellFormed();

test("utf8Length equals TextEncoder's byte count for well-formed strings, and is -1 for the others", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (text) => {
      assert.equal(utf8Length(text), isWellFormed(text) ? encoder.encode(text).length : -1);
    }),
    { numRuns: 5000 },
  );
});

test("loneSurrogateAt finds the first lone surrogate", () => {
  assert.equal(loneSurrogateAt("abc"), -1);
  assert.equal(loneSurrogateAt("a\ud83d\ude00b"), -1);
  assert.equal(loneSurrogateAt("a\ud800b"), 1);
  assert.equal(loneSurrogateAt("\ud83d\ude00\udc00"), 2);
  assert.equal(loneSurrogateAt("\ud800"), 0);
});
