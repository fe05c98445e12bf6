/**
 * Printing an array as a (nested) list, on one line, as Python prints `a.tolist()`:
 * `[2, 4, 6, 8, 10]`, `[[1, 2, 3], [4, 5, 6]]`; a 0-d array prints its one element alone (`7`).
 *
 * Elements print as JavaScript prints them, except that 64-bit integers print without the `n` of a
 * bigint literal (`2`, not `2n`), negative zero prints as `-0`, and bools print as `true` / `false` (JSON's spelling, so a printed
 * array of numbers or bools parses as JSON; Python would write `True`). Like numpy, an array of more
 * than `SUMMARY_THRESHOLD` elements is summarized: each axis longer than `2 * EDGE_ITEMS` shows its
 * first and last `EDGE_ITEMS` entries around `...`.
 *
 * The work is bounded by the element count, never by the product of the axes: an array with no
 * elements (a 0 in its shape) prints its nested empty lists (`[[], []]` for shape `[2, 0]`) only while
 * there are at most `SUMMARY_THRESHOLD` of them, and `[]` otherwise (numpy prints every empty array as
 * `[]`), so `[2 ** 20, 2 ** 20, 0]` prints at once.
 */

/** Arrays with more elements than this print summarized (numpy's `threshold`). */
export const SUMMARY_THRESHOLD = 1000;

/** How many entries each end of a long axis keeps in a summary (numpy's `edgeitems`). */
export const EDGE_ITEMS = 3;

/** One element, by its flat (C-order) index, as text. */
export type FormatElement = (flatIndex: number) => string;

/** The array of `shape` as a nested list; `element(i)` gives the text of the i-th element in C order. */
export function formatArray(shape: readonly number[], element: FormatElement): string {
  const size = shape.reduce((product, n) => product * n, 1);
  if (size === 0 && nestedListCount(shape, SUMMARY_THRESHOLD) > SUMMARY_THRESHOLD) return "[]";
  const summarize = size > SUMMARY_THRESHOLD;
  const parts: string[] = [];
  // strides in elements: how far apart consecutive entries of each axis are in C order
  const strides = shape.map((_, axis) => shape.slice(axis + 1).reduce((product, n) => product * n, 1));

  const write = (axis: number, base: number): void => {
    if (axis === shape.length) {
      parts.push(element(base));
      return;
    }
    const length = shape[axis];
    parts.push("[");
    const shown = summarize && length > 2 * EDGE_ITEMS
      ? [...range(0, EDGE_ITEMS), -1, ...range(length - EDGE_ITEMS, length)]
      : range(0, length);
    shown.forEach((i, position) => {
      if (position > 0) parts.push(", ");
      if (i < 0) parts.push("...");
      else write(axis + 1, base + i * strides[axis]);
    });
    parts.push("]");
  };

  write(0, 0);
  return parts.join("");
}

/** The text of one element: bigints without `n`, `-0` keeps its sign, everything else as `String` writes it. */
export function formatValue(value: number | bigint | boolean): string {
  return Object.is(value, -0) ? "-0" : String(value);
}

/**
 * How many lists the nesting of `shape` holds (`[2, 3]`: 1 + 2), counted up to the first axis of
 * length 0, and at most `limit + 1`: the count stops as soon as it passes `limit`, so a shape such as
 * `[2 ** 20, 2 ** 20, 0]` costs a few steps.
 */
export function nestedListCount(shape: readonly number[], limit: number): number {
  let lists = 0;
  let atThisAxis = 1;
  for (let axis = 0; axis < shape.length; axis++) {
    lists += atThisAxis;
    if (lists > limit) return limit + 1;
    atThisAxis *= shape[axis];
    if (atThisAxis === 0) break;
  }
  return lists;
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}
