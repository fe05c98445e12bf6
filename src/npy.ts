/**
 * numpy's `.npy` header, written at the start of an array's own segment so that the segment describes
 * itself: `SharedArray.attach(name)` and numpy's `np.load("/dev/shm/NAME", mmap_mode="r+")` both read
 * the dtype and shape from it, and the data follows it, 64-byte aligned.
 *
 * ```
 * offset 0        6     7     8           10 (12 in versions 2.0 and 3.0)
 * +---------------+-----+-----+-----------+--------------------------------------------------+------
 * | \x93 N U M P Y| maj | min | HEADER_LEN| {'descr': '<i4', 'fortran_order': False,          | data
 * | (6 bytes)     | 1   | 0   | uint16 LE | 'shape': (2, 3), }   <spaces>                  \n| ...
 * +---------------+-----+-----+-----------+--------------------------------------------------+------
 *                                          <------------------- HEADER_LEN bytes ------------>
 * 0                                                                                           data offset:
 *                                                                             10 + HEADER_LEN, a multiple of 64
 * ```
 *
 * - Versions: 1.0 has a 2-byte length (a header of at most 65,535 bytes); 2.0 a 4-byte length, used only
 *   where the header needs it; 3.0 is 2.0 with a UTF-8 header (numpy uses it for non-Latin-1 field names,
 *   which no dtype here has). All three are read.
 * - The header is a Python literal dict with exactly the keys `descr` (the dtype's type string, such as
 *   `<i4`), `fortran_order` (`False`: C order) and `shape` (a tuple: `()`, `(5,)`, `(2, 3)`), padded
 *   with spaces and ended by `\n` so that the data starts at a multiple of 64 bytes.
 * - Written exactly as numpy 2 writes it (keys sorted, `, ` after each entry, 21 - digits(shape[0])
 *   spaces of room for growing the first axis, then the alignment padding), so a segment made here is
 *   byte for byte what `np.save` writes for the same array.
 * - Read strictly: the magic, a known version, a length that stays inside the segment, the dict's exact
 *   grammar (spaces between tokens, quoted keys, no escapes, no other keys, none twice), a dtype of
 *   `DTYPES`, whole-number dimensions, data aligned to the element size and inside the segment. Anything
 *   else is a `MalformedArrayError` naming what is wrong; the Python companion (`python/shm_interop/npy.py`)
 *   applies the same rules with the same words.
 */
import { type DTypeInfo, DTYPES } from "./dtypes.ts";
import { MAX_BYTES } from "./arguments.ts";

/** The segment does not start with a well-formed `.npy` header for the array it holds. */
export class MalformedArrayError extends Error {
  /** The segment's name, without the leading `/`. */
  readonly segment: string;
  /** What is wrong, such as `fortran_order is True: arrays in Fortran order are not supported`. */
  readonly reason: string;

  /** Made by the library when a segment's `.npy` header cannot be used. */
  constructor(segment: string, reason: string) {
    super(`shared memory segment '${segment}' does not hold a well-formed .npy array: ${reason}`);
    this.name = "MalformedArrayError";
    this.segment = segment;
    this.reason = reason;
  }
}

/** What a header says: the dtype, the shape, and where the data starts. */
export interface NpyHeader {
  /** The dtype, from `descr`. */
  info: DTypeInfo;
  /** The shape, from `shape`. */
  shape: number[];
  /** The byte offset of the first element: the header's whole length. */
  offset: number;
}

/** `\x93NUMPY`: the first six bytes of every `.npy` file. */
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
/** The data starts at a multiple of this (numpy's `ARRAY_ALIGN`). */
const ALIGN = 64;
/** The longest header read or written (numpy reads at most 10,000 by default; 64 axes need about 1,500). */
export const MAX_HEADER = 1 << 20;
/** Spaces numpy leaves for the first axis to grow to 21 digits (numpy's `GROWTH_AXIS_MAX_DIGITS`). */
const GROWTH_DIGITS = 21;

/** Each version: the bytes before the header (magic, version, length field) and how the header is encoded. */
const VERSIONS: Readonly<Record<string, { prefix: number; utf8: boolean }>> = {
  "1.0": { prefix: 10, utf8: false },
  "2.0": { prefix: 12, utf8: false },
  "3.0": { prefix: 12, utf8: true },
};
const KNOWN_VERSIONS = Object.keys(VERSIONS).join(", ");

/** The dtypes by the type string numpy writes in `descr` (`<i8`, `|b1`). */
const BY_DESCR: ReadonlyMap<string, DTypeInfo> = new Map([...DTYPES.values()].map((info) => [info.typestr, info]));

/** The header of an array of `info` and `shape`: version 1.0 unless the header needs 2.0's longer length. */
export function encodeHeader(info: DTypeInfo, shape: readonly number[]): Uint8Array {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '${info.typestr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  if (shape.length > 0) dict += " ".repeat(Math.max(GROWTH_DIGITS - String(shape[0]).length, 0));
  // numpy's arithmetic: 1 to 64 spaces, then "\n", so prefix + header is a multiple of 64
  const withNewline = dict.length + 1;
  let prefix = VERSIONS["1.0"].prefix;
  let padding = ALIGN - ((prefix + withNewline) % ALIGN);
  const major = withNewline + padding > 0xffff ? 2 : 1;
  if (major === 2) {
    prefix = VERSIONS["2.0"].prefix;
    padding = ALIGN - ((prefix + withNewline) % ALIGN);
  }
  const length = withNewline + padding;
  if (length > MAX_HEADER) {
    throw new RangeError(`a shape of ${shape.length} axes needs an .npy header over the ${MAX_HEADER}-byte limit`);
  }
  const bytes = new Uint8Array(prefix + length);
  bytes.set(MAGIC);
  bytes[6] = major;
  bytes[7] = 0;
  const view = new DataView(bytes.buffer);
  if (major === 1) view.setUint16(8, length, true);
  else view.setUint32(8, length, true);
  for (let i = 0; i < dict.length; i++) bytes[prefix + i] = dict.charCodeAt(i); // ASCII: type strings and digits
  bytes.fill(0x20, prefix + dict.length, bytes.length - 1);
  bytes[bytes.length - 1] = 0x0a;
  return bytes;
}

/**
 * Reads the header at the start of a segment of `size` bytes: `read(offset, length)` gives bytes of
 * the segment (only the header's are asked for). Throws `MalformedArrayError` naming `segment` and
 * what is wrong; the returned offset and shape are checked to fit the segment.
 */
export function readHeader(
  read: (offset: number, length: number) => Uint8Array,
  size: number,
  segment: string,
): NpyHeader {
  const fail = (reason: string): never => {
    throw new MalformedArrayError(segment, reason);
  };
  if (size < VERSIONS["1.0"].prefix) {
    fail(`the segment is ${size} bytes, too small for an .npy header (at least ${VERSIONS["1.0"].prefix})`);
  }
  const start = read(0, Math.min(size, VERSIONS["2.0"].prefix));
  if (!MAGIC.every((byte, i) => start[i] === byte)) {
    fail(`it does not start with the .npy magic string \\x93NUMPY (found ${hex(start.subarray(0, 6))})`);
  }
  const version = `${start[6]}.${start[7]}`;
  const format = VERSIONS[version];
  if (format === undefined) fail(`unsupported .npy format version ${version} (known: ${KNOWN_VERSIONS})`);
  if (size < format.prefix) {
    fail(`the segment is ${size} bytes, too small for an .npy ${version} header (at least ${format.prefix})`);
  }
  const view = new DataView(start.buffer, start.byteOffset, start.byteLength);
  const length = format.prefix === 10 ? view.getUint16(8, true) : view.getUint32(8, true);
  const offset = format.prefix + length;
  if (length > MAX_HEADER) fail(`the header length ${length} is over the ${MAX_HEADER}-byte limit`);
  if (offset > size) {
    fail(`the header length ${length} runs past the end of the ${size}-byte segment`);
  }
  const text = decodeText(read(format.prefix, length), format.utf8) ?? fail("the header is not valid UTF-8");
  const { descr, shape } = parseDict(text, fail);
  const info = dtypeOfDescr(descr, fail);
  checkDimensions(shape, info, fail);
  if (offset % info.itemsize !== 0) {
    fail(`the data starts at byte ${offset}, not a multiple of ${info.itemsize} (the size of a ${info.name} element)`);
  }
  const nbytes = shape.reduce((product, n) => product * n, 1) * info.itemsize;
  if (offset + nbytes > size) {
    fail(
      `the header describes ${nbytes} bytes of ${info.name} data at byte ${offset}, past the end of the ${size}-byte segment`,
    );
  }
  return { info, shape, offset };
}

/** Latin-1 (versions 1.0, 2.0) or UTF-8 (3.0); undefined for invalid UTF-8. */
function decodeText(bytes: Uint8Array, utf8: boolean): string | undefined {
  if (!utf8) {
    let text = "";
    for (let i = 0; i < bytes.length; i += 4096) text += String.fromCharCode(...bytes.subarray(i, i + 4096));
    return text;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

type Fail = (reason: string) => never;

/** A run of digits where the parser stands (sticky: matches only at `lastIndex`). */
const DIGITS = /[0-9]+/y;

/** The Python literal dict, by its grammar: `{ 'key': value, ... }` then spaces and `\n`, nothing else. */
function parseDict(text: string, fail: Fail): { descr: string; shape: number[] } {
  if (!text.endsWith("\n")) fail("the header does not end with a newline");
  let at = 0;
  const spaces = () => {
    while (text[at] === " ") at++;
  };
  const near = () => (at >= text.length - 1 ? "the end of the header" : `'${text.slice(at, at + 12)}'`);
  const expect = (token: string, what: string) => {
    spaces();
    if (!text.startsWith(token, at)) fail(`expected ${what} at byte ${at} of the header, found ${near()}`);
    at += token.length;
  };
  const string = (what: string): string => {
    spaces();
    const quote = text[at];
    if (quote !== "'" && quote !== '"') fail(`expected ${what} (a quoted string) at byte ${at}, found ${near()}`);
    const end = text.indexOf(quote, at + 1);
    const body = end < 0 ? "" : text.slice(at + 1, end);
    if (end < 0 || body.includes("\n")) fail(`a string at byte ${at} of the header is not closed`);
    if (body.includes("\\")) fail(`escape sequences in strings are not supported (at byte ${at})`);
    at = end + 1;
    return body;
  };
  const whole = (what: string): number => {
    spaces();
    DIGITS.lastIndex = at;
    const digits = DIGITS.exec(text)?.[0];
    if (digits === undefined || (digits.length > 1 && digits[0] === "0")) {
      fail(`${what} must be a whole number, found ${near()}`);
    }
    at += digits.length;
    // refused here, while the digits are exact (a JS number would round them)
    if (Number(digits) > MAX_BYTES) fail(`${what} is ${digits}, more than ${MAX_BYTES}`);
    return Number(digits);
  };
  const tuple = (): number[] => {
    expect("(", "shape as a tuple such as (2, 3)");
    const lengths: number[] = [];
    let comma = false;
    for (;;) {
      spaces();
      if (text[at] === ")") break;
      if (lengths.length > 0 && !comma) fail(`expected ',' or ')' in shape at byte ${at}, found ${near()}`);
      lengths.push(whole(`shape[${lengths.length}]`));
      spaces();
      comma = text[at] === ",";
      if (comma) at++;
    }
    at++;
    if (lengths.length === 1 && !comma) {
      fail(`shape (${lengths[0]}) is not a tuple: a 1-d shape is written (${lengths[0]},)`);
    }
    return lengths;
  };
  const values: Record<string, unknown> = {};
  const readers: Record<string, () => unknown> = {
    descr: () => {
      spaces();
      if (text[at] === "[") fail("descr is a list of fields (a structured dtype), which is not supported");
      return string("descr");
    },
    fortran_order: () => {
      spaces();
      for (const [word, value] of [["False", false], ["True", true]] as const) {
        if (text.startsWith(word, at)) {
          at += word.length;
          if (value) fail("fortran_order is True: arrays in Fortran order are not supported");
          return value;
        }
      }
      return fail(`fortran_order must be False, found ${near()}`);
    },
    shape: tuple,
  };
  expect("{", "'{'");
  let comma = true;
  for (;;) {
    spaces();
    if (text[at] === "}") break;
    if (!comma) fail(`expected ',' or '}' at byte ${at} of the header, found ${near()}`);
    const key = string("a key");
    if (!(key in readers)) fail(`unknown key '${key}' (known: descr, fortran_order, shape)`);
    if (key in values) fail(`key '${key}' appears twice`);
    expect(":", `':' after '${key}'`);
    values[key] = readers[key]();
    spaces();
    comma = text[at] === ",";
    if (comma) at++;
  }
  at++;
  spaces();
  if (at !== text.length - 1) fail(`unexpected ${near()} after the dict (only spaces may follow it)`);
  for (const key of Object.keys(readers)) if (!(key in values)) fail(`the header has no '${key}'`);
  return { descr: values.descr as string, shape: values.shape as number[] };
}

function dtypeOfDescr(descr: string, fail: Fail): DTypeInfo {
  const info = BY_DESCR.get(descr);
  if (info) return info;
  if (descr.startsWith(">") && BY_DESCR.has(`<${descr.slice(1)}`)) {
    fail(`descr '${descr}' is big-endian; only little-endian ('<') arrays are supported`);
  }
  return fail(`descr '${descr}' is not a supported dtype (known: ${[...BY_DESCR.keys()].join(", ")})`);
}

function checkDimensions(shape: readonly number[], info: DTypeInfo, fail: Fail): void {
  let bytes = info.itemsize;
  for (const length of shape) {
    bytes *= length;
    if (!Number.isSafeInteger(length) || bytes > MAX_BYTES) {
      fail(`shape (${shape.join(", ")}) needs more than ${MAX_BYTES} bytes`);
    }
  }
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => `\\x${byte.toString(16).padStart(2, "0")}`).join("");
}
