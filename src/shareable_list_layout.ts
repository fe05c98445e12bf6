/**
 * ShareableList's bytes, exactly as CPython 3.11 lays them out, as data: the kinds of value with their
 * struct formats and back-transform codes, the offsets arithmetic, and the checks that a segment made
 * by someone else is a well-formed list before anything reads it.
 *
 * The layout of a list of N items (integers little-endian int64, no padding anywhere):
 *
 * ```
 * offset                     size       content
 * 0                          8          N
 * 8                          8*(N+1)    off[0..N]: item i owns data bytes [off[i], off[i+1]); off[0] = 0
 * D = 8*(N+2)                off[N]     the data area: each item's slot, numbers in their first 8 bytes
 * F = D + off[N]             8*N        one struct format per item, ASCII, NUL-padded to 8 bytes
 * C = F + 8*N                N          one back-transform code per item, int8
 * size = C + N
 * ```
 *
 * `[1, 2.5, true, null, "héllo", b"ab", -7]` (191 bytes; CPython's own worked example):
 *
 * ```
 *   0  07 00 00 00 00 00 00 00   N = 7
 *   8  00 .. | 08 .. | 10 .. | 18 .. | 20 .. | 28 .. | 30 .. | 38 ..    off[0..7] = 0, 8, ..., 56
 *  72  01 00 00 00 00 00 00 00   q   1
 *  80  00 00 00 00 00 00 04 40   d   2.5
 *  88  00 00 00 00 00 00 00 01   xxxxxxx?   true (seven pad bytes, then the bool)
 *  96  00 00 00 00 00 00 00 00   xxxxxx?x   null
 * 104  68 c3 a9 6c 6c 6f 00 00   8s  "héllo", UTF-8, NUL-padded to the slot
 * 112  61 62 00 00 00 00 00 00   8s  b"ab"
 * 120  f9 ff ff ff ff ff ff ff   q   -7
 * 128  "q" "d" "xxxxxxx?" "xxxxxx?x" "8s" "8s" "q", each NUL-padded to 8 bytes
 * 184  00 00 00 03 01 02 00      codes: 0 value itself, 1 str, 2 bytes, 3 None
 * ```
 */

/** The six kinds of value a list holds. */
export type Kind = "int" | "float" | "bool" | "none" | "str" | "bytes";

/** The kinds stored as 8 bytes with a format of their own. */
export type FixedKind = "int" | "float" | "bool" | "none";

/** A kind's struct format (`%d` is the slot's capacity) and back-transform code: CPython's `_types_mapping`. */
export const KINDS: Readonly<Record<Kind, { readonly format: string; readonly code: number }>> = {
  int: { format: "q", code: 0 },
  float: { format: "d", code: 0 },
  bool: { format: "xxxxxxx?", code: 0 },
  none: { format: "xxxxxx?x", code: 3 },
  str: { format: "%ds", code: 1 },
  bytes: { format: "%ds", code: 2 },
};

/** CPython's `_back_transforms_mapping`, by code: what each makes of the unpacked value. */
export const BACK_TRANSFORMS: readonly string[] = [
  "the value itself (int, float, bool)",
  "str: trailing NULs stripped, UTF-8 decoded",
  "bytes: trailing NULs stripped",
  "None",
];

/** The code of each kind read back from a string format (`<n>s`). */
export const STRING_CODES: Readonly<Record<number, "str" | "bytes">> = { 1: "str", 2: "bytes" };

/** Every item's slot and format field is a multiple of this; numbers fill one. */
export const ALIGNMENT = 8;

/** Bytes of the count at offset 0. */
const COUNT_BYTES = 8;

/**
 * The longest str (in UTF-8 bytes) or bytes an item can be made with: its capacity must print in at
 * most 7 digits so that `<capacity>s` fits the 8-byte format field (CPython asserts the same).
 */
export const MAX_ITEM_BYTES = 9_999_991;

/** The largest capacity whose format `<capacity>s` fits 8 bytes. */
const MAX_CAPACITY_DIGITS = 7;

/** A format's 8 bytes read as two little-endian uint32 words: comparing them never decodes a string. */
export interface FormatWords {
  readonly low: number;
  readonly high: number;
}

/** A format as its 8 NUL-padded ASCII bytes. */
export function formatBytes(format: string): Uint8Array {
  const bytes = new Uint8Array(ALIGNMENT);
  for (let i = 0; i < format.length; i++) bytes[i] = format.charCodeAt(i);
  return bytes;
}

/** A format as the two words a little-endian DataView reads from its 8 bytes. */
export function formatWords(format: string): FormatWords {
  const view = new DataView(formatBytes(format).buffer);
  return { low: view.getUint32(0, true), high: view.getUint32(4, true) };
}

/** The words of the four fixed formats, compared on every read. */
export const FIXED_WORDS: Readonly<Record<FixedKind, FormatWords>> = {
  int: formatWords(KINDS.int.format),
  float: formatWords(KINDS.float.format),
  bool: formatWords(KINDS.bool.format),
  none: formatWords(KINDS.none.format),
};

/** Where, in an 8-byte slot, each `?` format keeps its byte (CPython writes the others as zero pad bytes). */
export const BOOL_BYTE = { bool: 7, none: 6 } as const;

/** The capacity CPython gives a str or bytes of `length` units: the next multiple of 8 above it (0 -> 8, 8 -> 16). */
export function capacityOf(length: number): number {
  return ALIGNMENT * (Math.floor(length / ALIGNMENT) + 1);
}

/**
 * The words of the string format `<capacity>s` of a slot, or undefined when the format does not fit
 * the 8-byte field (a slot of 10,000,000 bytes or more, which CPython never makes).
 */
export function stringFormatWords(capacity: number): FormatWords | undefined {
  const digits = String(capacity);
  return digits.length <= MAX_CAPACITY_DIGITS ? formatWords(`${digits}s`) : undefined;
}

/** Where everything of a list is, in bytes from the start of the segment. Fixed once the list is made. */
export interface Layout {
  /** N, the number of items. */
  readonly length: number;
  /** Where each item's slot starts, from the start of the segment (D + off[i]). */
  readonly starts: readonly number[];
  /** Each item's slot size, off[i+1] - off[i]. */
  readonly slots: readonly number[];
  /** off[0..N], from the start of the data area, as stored at offset 8. */
  readonly offsets: readonly number[];
  /** D: the data area. */
  readonly dataStart: number;
  /** F: the formats. */
  readonly formatsStart: number;
  /** C: the back-transform codes. */
  readonly codesStart: number;
  /** The bytes the list occupies: C + N. */
  readonly size: number;
}

/** The layout of a new list whose items get these slot sizes. */
export function layoutOf(slots: readonly number[]): Layout {
  const offsets = [0];
  for (const slot of slots) offsets.push(offsets[offsets.length - 1] + slot);
  return layoutFromOffsets(offsets);
}

function layoutFromOffsets(offsets: readonly number[]): Layout {
  const length = offsets.length - 1;
  const dataStart = COUNT_BYTES + ALIGNMENT * (length + 1);
  const formatsStart = dataStart + offsets[length];
  const codesStart = formatsStart + ALIGNMENT * length;
  const starts = offsets.slice(0, length).map((offset) => dataStart + offset);
  const slots = starts.map((_, i) => offsets[i + 1] - offsets[i]);
  return { length, starts, slots, offsets, dataStart, formatsStart, codesStart, size: codesStart + length };
}

/** Writes N and the offsets table of `layout` at the start of `view`. */
export function writeHeader(view: DataView, layout: Layout): void {
  view.setBigInt64(0, BigInt(layout.length), true);
  layout.offsets.forEach((offset, i) => view.setBigInt64(COUNT_BYTES + ALIGNMENT * i, BigInt(offset), true));
}

/** What a format field says, once decoded: a fixed kind, or a string of `count` bytes. */
export type ParsedFormat = { kind: FixedKind } | { kind: "string"; count: number };

const FIXED_BY_FORMAT: ReadonlyMap<string, FixedKind> = new Map(
  (Object.keys(FIXED_WORDS) as FixedKind[]).map((kind) => [KINDS[kind].format, kind]),
);

/** The format text of an 8-byte field (NUL padding dropped), with unprintable bytes shown as `\xNN`. */
export function formatText(field: Uint8Array): string {
  let end = field.length;
  while (end > 0 && field[end - 1] === 0) end--;
  let text = "";
  for (let i = 0; i < end; i++) {
    const byte = field[i];
    text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return text;
}

/** Decodes a format field as CPython writes them, or returns undefined for anything else. */
export function parseFormat(field: Uint8Array): ParsedFormat | undefined {
  const text = formatText(field);
  if (text.includes("\\x")) return undefined; // a NUL inside, or a byte that is not printable ASCII
  const fixed = FIXED_BY_FORMAT.get(text);
  if (fixed) return { kind: fixed };
  const match = /^([0-9]{1,7})s$/.exec(text);
  return match ? { kind: "string", count: Number(match[1]) } : undefined;
}

/**
 * Why item `index` (format field, code, slot size) is not something CPython would have written, or
 * undefined when it is. The pairs CPython writes: q/d/bool with code 0, None with 3, `<n>s` with 1 or 2.
 */
export function itemProblem(index: number, field: Uint8Array, code: number, slot: number): string | undefined {
  const format = parseFormat(field);
  if (!format) return `item ${index} has an unknown format '${formatText(field)}'`;
  if (BACK_TRANSFORMS[code] === undefined) {
    return `item ${index} has an unknown back-transform code ${code} (known: 0 to ${BACK_TRANSFORMS.length - 1})`;
  }
  const expected = format.kind === "string" ? STRING_CODES[code] : KINDS[format.kind].code === code;
  if (!expected) {
    return `item ${index} has back-transform code ${code}, which does not go with format '${formatText(field)}'`;
  }
  if (format.kind === "string" && format.count > slot) {
    return `item ${index} has format '${format.count}s', longer than its ${slot}-byte slot`;
  }
  return undefined;
}

/**
 * Reads and checks the layout of a segment of `size` bytes that should hold a list, through `read`
 * (a view of `length` bytes at `offset`, already inside the segment). Returns undefined and calls `fail`
 * with the reason when it is not a well-formed list: too small, a count or an offset running past the
 * end, offsets not starting at 0 or a slot under 8 bytes, an unknown format or code. Nothing is read
 * outside the segment.
 */
export function readLayout(
  read: (offset: number, length: number) => Uint8Array,
  size: number,
  fail: (reason: string) => never,
): Layout {
  const minimum = COUNT_BYTES + ALIGNMENT;
  if (size < minimum) fail(`it is ${size} bytes, smaller than the ${minimum} bytes of an empty list`);
  const count = dataView(read(0, COUNT_BYTES)).getBigInt64(0, true);
  if (count < 0n) fail(`its item count is negative (${count})`);
  // Each item takes at least an offset, an 8-byte slot, a format and a code: 25 bytes.
  const perItem = ALIGNMENT * 3 + 1;
  const room = Math.floor((size - minimum) / perItem);
  if (count > BigInt(room)) fail(`its item count ${count} runs past the end (room for at most ${room} items)`);
  const length = Number(count);
  const table = dataView(read(COUNT_BYTES, ALIGNMENT * (length + 1)));
  const fixedBytes = minimum + (ALIGNMENT * 2 + 1) * length; // the count, offsets, formats and codes
  const offsets: number[] = [];
  let previous = 0n;
  for (let i = 0; i <= length; i++) {
    const offset = table.getBigInt64(ALIGNMENT * i, true);
    if (i === 0 && offset !== 0n) fail(`its first offset is ${offset}, not 0`);
    if (i > 0 && offset - previous < ALIGNMENT) {
      fail(`item ${i - 1}'s slot runs from offset ${previous} to ${offset}: offsets must grow by at least 8`);
    }
    if (offset > BigInt(size - fixedBytes)) fail(`offset ${i} (${offset}) runs past the end of the data area`);
    offsets.push(Number(offset));
    previous = offset;
  }
  const layout = layoutFromOffsets(offsets);
  const formats = read(layout.formatsStart, ALIGNMENT * length);
  const codes = new Int8Array(read(layout.codesStart, length).slice().buffer);
  for (let i = 0; i < length; i++) {
    const field = formats.subarray(ALIGNMENT * i, ALIGNMENT * (i + 1));
    const problem = itemProblem(i, field, codes[i], layout.slots[i]);
    if (problem) fail(problem);
  }
  return layout;
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
