/**
 * A fixed-length list of mixed values in one shared memory segment, byte-compatible with CPython's
 * `multiprocessing.shared_memory.ShareableList`: a list made here is read and changed by Python, and
 * the reverse. The bytes are drawn in `shareable_list_layout.ts`.
 */
import { printAsString } from "../ffi/inspect.ts";
import { SharedMemory } from "./shared_memory.ts";
import { checkOptionsObject, describe, optionKeys } from "./arguments.ts";
import { parseDescriptor, type Placement, SharedObject, type SharedObjectDescriptor } from "./shared_object.ts";
import { loneSurrogateAt, shortText, utf8Length, writeShortText } from "./utf8.ts";
import { isDetachedView, isUint8Array, typedArrayLength, typedArraySet } from "./intrinsics.ts";
import {
  ALIGNMENT,
  BOOL_BYTE,
  capacityOf,
  FIXED_WORDS,
  formatText,
  itemProblem,
  KINDS,
  type Layout,
  layoutOf,
  MAX_ITEM_BYTES,
  parseFormat,
  readLayout,
  stringFormatWords,
  writeHeader,
} from "./shareable_list_layout.ts";

/**
 * A value a list holds: an integer (a number, or a bigint in the int64 range) is stored as int64 `q`;
 * any other number as float64 `d`; a boolean; `null` (Python's `None`); a string (UTF-8, Python's `str`);
 * a `Uint8Array` (Python's `bytes`).
 */
export type ListValue = number | bigint | boolean | null | string | Uint8Array;

/** How to create a list; only `name` matters when attaching. */
export interface ShareableListOptions {
  /**
   * The segment's name, without a leading `/`. With a sequence: the name of the new segment (default:
   * a fresh `psm_` name). With `null`: the list to attach to.
   */
  name?: string;
  /** Unlink a segment this list created at the latest when the process ends (default `true`), as `SharedMemory`'s. */
  track?: boolean;
  /** Reserve the new segment's memory at create (default `true`), as `SharedMemory`'s `reserve`. */
  reserve?: boolean;
}

/** Every option of `ShareableListOptions`, once: an option added to the interface without its row is a type error. */
const LIST_OPTION_TABLE = { name: true, track: true, reserve: true } as const satisfies Record<
  keyof ShareableListOptions,
  true
>;

/**
 * What another process needs to attach to a list: plain JSON. A list always starts its segment (CPython's
 * layout has no offset), so `offset` is 0; `attach` also takes it without one, or the bare name.
 */
export interface ListDescriptor extends SharedObjectDescriptor {
  /** Always `"list"`. */
  readonly kind: "list";
}

/**
 * A segment that should hold a list holds something else: found when attaching (the count, offsets,
 * formats or codes) or when reading an item another process changed into something CPython never writes.
 */
export class MalformedListError extends Error {
  /** The segment's name, without the leading `/`. */
  readonly segment: string;
  /** What is wrong, such as `item 2 has an unknown format 'zz'`. */
  readonly reason: string;

  /** Made by the library when a segment is not a well-formed list. */
  constructor(segment: string, reason: string) {
    super(`shared memory segment '${segment}' does not hold a well-formed ShareableList: ${reason}`);
    this.name = "MalformedListError";
    this.segment = segment;
    this.reason = reason;
  }
}

const INT = FIXED_WORDS.int;
const FLOAT = FIXED_WORDS.float;
const BOOL = FIXED_WORDS.bool;
const NONE = FIXED_WORDS.none;
const INT_CODE = KINDS.int.code;
const FLOAT_CODE = KINDS.float.code;
const BOOL_CODE = KINDS.bool.code;
const NONE_CODE = KINDS.none.code;
const STR_CODE = KINDS.str.code;
const BYTES_CODE = KINDS.bytes.code;

/** 2^32, to split an int64 into two 32-bit words without a bigint. */
const WORD = 4294967296;
/** A high word in [-2^21, 2^21) makes an int64 that a number holds exactly. */
const SAFE_HIGH = 0x200000;
const INT64_MIN = -(2 ** 63);
const INT64_END = 2 ** 63;

/** Strings up to this many UTF-8 bytes are encoded and decoded in JS: faster than a TextEncoder/TextDecoder call. */
const SHORT_STRING = 32;

const KNOWN_OPTIONS = optionKeys(LIST_OPTION_TABLE);
const encoder = new TextEncoder();
/** Strict (CPython's decode is strict) and keeping a leading U+FEFF, which is part of the string. */
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A fixed-length list of numbers, bigints, booleans, `null`, strings and bytes in a named shared memory
 * segment, laid out exactly as CPython's `ShareableList`.
 *
 * ```ts
 * using list = new ShareableList([1, 2.5, true, null, "héllo", new Uint8Array([97, 98])]);
 * // another process, Python's `ShareableList(name=list.shm.name)` or `new ShareableList(null, { name })`,
 * // sees the same six values; `list.set(0, 42)` is seen by both.
 * ```
 *
 * Item slots never grow: a string or bytes value must fit the slot it is written to (a slot made for a
 * value of `L` bytes holds `8 * (floor(L / 8) + 1)` bytes); numbers, booleans and `null` fit any slot.
 */
export class ShareableList extends SharedObject<ListDescriptor> implements Iterable<ListValue> {
  readonly #shm: SharedMemory;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #length: number;
  readonly #starts: readonly number[];
  readonly #slots: readonly number[];
  readonly #formatsStart: number;
  readonly #codesStart: number;
  /** The words of each slot's own string format `<slot>s` (low word 0: the slot cannot hold a string). */
  readonly #textLow: Uint32Array;
  readonly #textHigh: Uint32Array;

  /**
   * `new ShareableList(values)` creates a segment holding `values` (any iterable; none: an empty list);
   * `new ShareableList(null, { name })` attaches to the list another process made.
   *
   * Throws, before anything is created: a TypeError naming the item for a value of another kind
   * (`undefined`, an object, a symbol...), a RangeError for a bigint outside int64, a string with a lone
   * surrogate or an item over 9,999,991 bytes, a TypeError for a detached Uint8Array. Attaching
   * (`null`, which needs a name) throws `MalformedListError` when the segment is not a well-formed list,
   * and `SharedMemoryError` (`ENOENT`) when there is no such segment.
   */
  constructor(sequence?: Iterable<ListValue> | null, options: ShareableListOptions = {}) {
    checkOptionsObject(options, KNOWN_OPTIONS, "options", "{ name: 'psm_...' }");
    const { name, track, reserve } = options;
    let shm: SharedMemory;
    let layout: Layout;
    let bytes: Uint8Array;
    let values: ListValue[] | undefined;
    let ownership: Placement["ownership"];
    if (sequence === null && name === undefined) {
      // `new ShareableList(null, { name: argv[2] })` with the argument missing: never a new list by mistake
      throw new TypeError("name is required to attach to a list (null as the sequence means attach)");
    }
    if ((sequence === null || sequence === undefined) && name !== undefined) {
      shm = new SharedMemory({ name });
      try {
        layout = readLayout((offset, length) => shm.view(offset, length), shm.size, (reason) => {
          throw new MalformedListError(name, reason);
        });
        bytes = shm.view(0, layout.size);
      } catch (error) {
        shm.close();
        throw error;
      }
      ownership = "attached";
    } else {
      values = checkSequence(sequence ?? []);
      layout = layoutOf(values.map(slotFor));
      shm = new SharedMemory({ create: true, size: layout.size, name, track, reserve });
      try {
        bytes = shm.view(0, layout.size);
      } catch (error) {
        shm[Symbol.dispose]();
        throw error;
      }
      ownership = "created";
    }
    super({ shm, offset: 0, ownership }, "list", {});
    this.#shm = shm;
    this.#bytes = bytes;
    this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
    this.#length = layout.length;
    this.#starts = layout.starts;
    this.#slots = layout.slots;
    this.#formatsStart = layout.formatsStart;
    this.#codesStart = layout.codesStart;
    this.#textLow = new Uint32Array(layout.length);
    this.#textHigh = new Uint32Array(layout.length);
    layout.slots.forEach((slot, i) => {
      const words = stringFormatWords(slot);
      if (words) [this.#textLow[i], this.#textHigh[i]] = [words.low, words.high];
    });
    if (values) {
      try {
        writeHeader(this.#view, layout);
        values.forEach((value, i) => this.#write(i, value));
      } catch (error) {
        shm[Symbol.dispose]();
        throw error;
      }
    }
  }

  /**
   * A new list holding `values` (any iterable): `new ShareableList(values, options)`.
   *
   * @example
   * ```ts
   * import { ShareableList } from "@shm/shared-memory";
   *
   * using list = ShareableList.create([1, 2.5, true, null, "héllo"]);
   * using other = ShareableList.attach(list.descriptor); // in any process, or Python's ShareableList(name=...)
   * other.set(0, 42);
   * console.assert(list.get(0) === 42);
   * ```
   */
  static create(values: Iterable<ListValue>, options: ShareableListOptions = {}): ShareableList {
    if (values === null || values === undefined) {
      throw new TypeError(`values must be an iterable of values, got ${describe(values)} (attach() attaches)`);
    }
    return new ShareableList(values, options);
  }

  /**
   * The list a name, a descriptor (`{ kind: "list", name }`) or that descriptor's JSON names:
   * `new ShareableList(null, { name })`. A descriptor of another kind is a TypeError.
   */
  static attach(nameOrDescriptor: ListDescriptor | string): ShareableList {
    const { name } = parseDescriptor<ListDescriptor>(nameOrDescriptor, "list", (d) => {
      if ((d.offset ?? 0) !== 0) {
        throw new TypeError(`a list starts its segment: descriptor.offset must be 0, got ${describe(d.offset)}`);
      }
    });
    return new ShareableList(null, { name });
  }

  /** Whether the list (or its segment) is closed: reading or writing then throws. */
  override get closed(): boolean {
    return super.closed || this.#closed();
  }

  /** The number of items; fixed for the life of the list. */
  get length(): number {
    return this.#length;
  }

  /** The segment holding the list (its `name` is what another process attaches to). */
  get shm(): SharedMemory {
    return this.#shm;
  }

  /** Every item's struct format, joined, as CPython's `format`: `"qdxxxxxxx?xxxxxx?x8s8s"`. */
  get format(): string {
    this.#checkOpen();
    let format = "";
    for (let i = 0; i < this.#length; i++) format += formatText(this.#formatField(i));
    return format;
  }

  /**
   * The item at `index` (negative counts from the end, as in Python). An int64 reads as a number when
   * it is a safe integer and as a bigint otherwise; bytes read as a new `Uint8Array` (a copy). A string
   * or bytes value reads without its trailing NUL bytes, as in CPython. Throws a RangeError when the
   * index is out of range.
   */
  get(index: number): ListValue {
    const i = this.#position(index);
    if (i < 0) throw new RangeError(`index ${index} is out of range for a list of ${this.#length} items`);
    return this.#read(i);
  }

  /** The item at `index`, negative counting from the end, or undefined out of range, as `Array.prototype.at`. */
  at(index: number): ListValue | undefined {
    const i = this.#position(index);
    return i < 0 ? undefined : this.#read(i);
  }

  /**
   * Stores `value` at `index` (negative counts from the end). A number, bigint, boolean or `null` always
   * fits; a string (as UTF-8) or `Uint8Array` must fit the item's slot, else a RangeError and the old
   * value stays. Any other kind of value is a TypeError. Nothing is written when it throws.
   */
  set(index: number, value: ListValue): void {
    const i = this.#position(index);
    if (i < 0) throw new RangeError(`index ${index} is out of range for a list of ${this.#length} items`);
    this.#write(i, value);
  }

  /** How many items equal `value` (numbers and bigints by value, bytes by content, NaN equals nothing). */
  count(value: unknown): number {
    let found = 0;
    for (let i = 0; i < this.length; i++) if (same(this.get(i), value)) found++;
    return found;
  }

  /** The first index holding `value`, compared as in `count`; a RangeError (Python's ValueError) if none does. */
  index(value: unknown): number {
    for (let i = 0; i < this.length; i++) if (same(this.get(i), value)) return i;
    throw new RangeError(`${isListValue(value) ? pythonRepr(value) : describe(value)} is not in the list`);
  }

  /** The items, in order, read as they are when the iteration reaches them. */
  *[Symbol.iterator](): IterableIterator<ListValue> {
    for (let i = 0; i < this.#length; i++) yield this.get(i);
  }

  /** The items as a new array. */
  toArray(): ListValue[] {
    const items = new Array<ListValue>(this.#length);
    for (let i = 0; i < this.#length; i++) items[i] = this.get(i);
    return items;
  }

  /**
   * Python's repr: `ShareableList([1, 2.5, True, None, 'héllo', b'ab'], name='psm_1a2b3c4d')`; an item
   * another process spoiled shows as `<malformed>`, a closed list as `ShareableList(<closed>, name=...)`.
   */
  override toString(): string {
    if (!(#shm in this)) return "ShareableList {}"; // the prototype itself, as console.log(ShareableList.prototype) asks
    const name = pythonString(this.#shm.name);
    if (this.#closed()) return `ShareableList(<closed>, name=${name})`;
    const items: string[] = [];
    for (let i = 0; i < this.#length; i++) {
      let value: ListValue;
      try {
        value = this.#read(i);
      } catch (error) {
        if (!(error instanceof MalformedListError)) throw error;
        items.push("<malformed>");
        continue;
      }
      items.push(typeof value === "number" && this.#isFormat(i, FLOAT) ? pythonFloat(value) : pythonRepr(value));
    }
    return `ShareableList([${items.join(", ")}], name=${name})`;
  }

  #closed(): boolean {
    return this.#bytes.length === 0;
  }

  #checkOpen(): void {
    if (this.#closed()) throw new TypeError(`ShareableList '${this.#shm.name}' is closed`);
  }

  /** The item's position for `index`, or -1 when it is an integer out of range; throws for a non-integer. */
  #position(index: number): number {
    const length = this.#length;
    if (this.#bytes.length === 0) this.#checkOpen();
    if ((index >>> 0) === index && index < length) return index;
    if (typeof index !== "number") throw new TypeError(`index must be a number, got ${describe(index)}`);
    if (!Number.isInteger(index)) throw new RangeError(`index must be a whole number, got ${index}`);
    return index < 0 && index >= -length ? index + length : -1;
  }

  #isFormat(i: number, words: { low: number; high: number }): boolean {
    const at = this.#formatsStart + ALIGNMENT * i;
    return this.#view.getUint32(at, true) === words.low && this.#view.getUint32(at + 4, true) === words.high;
  }

  #formatField(i: number): Uint8Array {
    const at = this.#formatsStart + ALIGNMENT * i;
    return this.#bytes.subarray(at, at + ALIGNMENT);
  }

  /**
   * Reads item `i` (in range). Its format and code are read from the segment once, each time, as another
   * process may change them at any moment: everything after that decides from those words alone, so a
   * format torn or changed mid-read is a `MalformedListError` or a read inside the slot, never beyond it.
   */
  #read(i: number): ListValue {
    const view = this.#view;
    const field = this.#formatsStart + ALIGNMENT * i;
    const low = view.getUint32(field, true);
    const high = view.getUint32(field + 4, true);
    const code = view.getInt8(this.#codesStart + i);
    const at = this.#starts[i];
    if (high === 0) {
      if (low === INT.low && code === INT_CODE) return readInt64(view, at);
      if (low === FLOAT.low && code === FLOAT_CODE) return view.getFloat64(at, true);
    } else if (low === BOOL.low) {
      if (high === BOOL.high && code === BOOL_CODE) return this.#bytes[at + BOOL_BYTE.bool] !== 0;
      if (high === NONE.high && code === NONE_CODE) return null;
    }
    let count = this.#slots[i];
    if (low !== this.#textLow[i] || high !== this.#textHigh[i] || (code !== STR_CODE && code !== BYTES_CODE)) {
      const field = formatSnapshot(low, high);
      const problem = itemProblem(i, field, code, count);
      if (problem) throw new MalformedListError(this.#shm.name, problem);
      const format = parseFormat(field);
      // The fixed kinds with their right codes were read above: what passes here is a string format.
      if (format?.kind !== "string") {
        throw new MalformedListError(this.#shm.name, `item ${i} has format '${formatText(field)}' with code ${code}`);
      }
      count = format.count;
    }
    let end = at + count;
    while (end > at && this.#bytes[end - 1] === 0) end--;
    if (code === BYTES_CODE) return this.#bytes.slice(at, end);
    if (end - at <= SHORT_STRING) {
      const text = shortText(this.#bytes, at, end);
      if (text !== undefined) return text;
    }
    try {
      return decoder.decode(this.#bytes.subarray(at, end));
    } catch {
      throw new MalformedListError(this.#shm.name, `item ${i} is a str whose bytes are not valid UTF-8`);
    }
  }

  /** Writes `value` as item `i` (in range): the format, the code, then the value, as CPython does. */
  #write(i: number, value: ListValue): void {
    const view = this.#view;
    const at = this.#starts[i];
    switch (typeof value) {
      case "number":
        if (isInt64Number(value)) {
          this.#setFormat(i, INT, INT_CODE);
          view.setUint32(at, value >>> 0, true);
          view.setInt32(at + 4, Math.floor(value / WORD), true);
        } else {
          this.#setFormat(i, FLOAT, FLOAT_CODE);
          view.setFloat64(at, value, true);
        }
        return;
      case "bigint":
        checkBigInt(value, i);
        this.#setFormat(i, INT, INT_CODE);
        view.setBigInt64(at, value, true);
        return;
      case "boolean":
        this.#setFormat(i, BOOL, BOOL_CODE);
        view.setUint32(at, 0, true);
        view.setUint32(at + 4, value ? 1 << (8 * (BOOL_BYTE.bool - 4)) : 0, true);
        return;
      case "string": {
        const length = checkString(value, i);
        this.#checkFits(i, length, "string");
        this.#setStringFormat(i, STR_CODE);
        if (length <= SHORT_STRING) writeShortText(value, this.#bytes, at);
        else encoder.encodeInto(value, this.#bytes.subarray(at, at + length));
        this.#bytes.fill(0, at + length, at + this.#slots[i]);
        return;
      }
      case "object":
        if (value === null) {
          this.#setFormat(i, NONE, NONE_CODE);
          view.setUint32(at, 0, true);
          view.setUint32(at + 4, 0, true);
          return;
        }
        if (isUint8Array(value)) {
          // Its length from its internal slot (an own `length` or a Proxy cannot lie), checked before any
          // byte changes; the bytes copied before the format, so a value that is a view of this very
          // segment's format table is copied as it was.
          const length = typedArrayLength(value); // 0 once detached: only then is the buffer asked
          if (length === 0 && isDetachedView(value)) {
            throw new TypeError(
              `item ${i} is a detached Uint8Array (its buffer was transferred or its segment closed); the old value is kept`,
            );
          }
          this.#checkFits(i, length, "bytes value");
          typedArraySet(this.#bytes, value, at);
          this.#bytes.fill(0, at + length, at + this.#slots[i]);
          this.#setStringFormat(i, BYTES_CODE);
          return;
        }
    }
    throw unsupported(value, i);
  }

  #checkFits(i: number, length: number, what: string): void {
    const slot = this.#slots[i];
    if (length > slot) {
      throw new RangeError(
        `item ${i}: a ${length}-byte ${what} does not fit its ${slot}-byte slot ` +
          "(slots never grow; the old value is kept)",
      );
    }
    if (this.#textLow[i] === 0) {
      throw new RangeError(`item ${i}: its ${slot}-byte slot is too large for a string format ('<size>s' in 8 bytes)`);
    }
  }

  #setFormat(i: number, words: { low: number; high: number }, code: number): void {
    const field = this.#formatsStart + ALIGNMENT * i;
    this.#view.setUint32(field, words.low, true);
    this.#view.setUint32(field + 4, words.high, true);
    this.#bytes[this.#codesStart + i] = code;
  }

  #setStringFormat(i: number, code: number): void {
    this.#setFormat(i, { low: this.#textLow[i], high: this.#textHigh[i] }, code);
  }
}

printAsString(ShareableList.prototype);

/** One snapshot of a format field: the two words read once, as 8 bytes to parse (reused: read before the next). */
const SNAPSHOT = new Uint8Array(ALIGNMENT);
const SNAPSHOT_VIEW = new DataView(SNAPSHOT.buffer);

function formatSnapshot(low: number, high: number): Uint8Array {
  SNAPSHOT_VIEW.setUint32(0, low, true);
  SNAPSHOT_VIEW.setUint32(4, high, true);
  return SNAPSHOT;
}

/** Reads an int64 as a number when it is a safe integer, else as a bigint; no bigint is made for the first. */
function readInt64(view: DataView, at: number): number | bigint {
  const high = view.getInt32(at + 4, true);
  if (high >= -SAFE_HIGH && high < SAFE_HIGH) {
    const value = high * WORD + view.getUint32(at, true);
    if (value !== -Number.MAX_SAFE_INTEGER - 1) return value;
  }
  return view.getBigInt64(at, true);
}

/** An integer number int64 holds exactly; -0 is not one (it stays a float, keeping its sign). */
function isInt64Number(value: number): boolean {
  return Number.isInteger(value) && value >= INT64_MIN && value < INT64_END && (value !== 0 || 1 / value > 0);
}

function checkBigInt(value: bigint, i: number): void {
  if (BigInt.asIntN(64, value) !== value) {
    throw new RangeError(`item ${i} (${value}n) is outside the int64 range [-(2n ** 63n), 2n ** 63n - 1n]`);
  }
}

/** The UTF-8 length of a string; a RangeError naming the item for a lone surrogate, which UTF-8 cannot hold. */
function checkString(value: string, i: number): number {
  const bytes = utf8Length(value);
  if (bytes < 0) {
    throw new RangeError(
      `item ${i} is a string with a lone surrogate at ${loneSurrogateAt(value)}, which UTF-8 cannot store`,
    );
  }
  return bytes;
}

function unsupported(value: unknown, i: number): TypeError {
  return new TypeError(
    `item ${i} is ${describe(value)}: a ShareableList holds numbers, bigints, booleans, null, strings and Uint8Arrays`,
  );
}

/** The slot a new item gets: 8 bytes for a number, boolean or null; CPython's capacity for its bytes otherwise. */
function slotFor(value: ListValue, i: number): number {
  let length: number;
  switch (typeof value) {
    case "number":
    case "boolean":
      return ALIGNMENT;
    case "bigint":
      checkBigInt(value, i);
      return ALIGNMENT;
    case "string":
      length = checkString(value, i);
      break;
    case "object":
      if (value === null) return ALIGNMENT;
      if (!isUint8Array(value)) throw unsupported(value, i);
      length = typedArrayLength(value);
      if (length === 0 && isDetachedView(value)) {
        throw new TypeError(`item ${i} is a detached Uint8Array, which holds no bytes`);
      }
      break;
    default:
      throw unsupported(value, i);
  }
  if (length > MAX_ITEM_BYTES) {
    throw new RangeError(`item ${i} is ${length} bytes long; an item holds at most ${MAX_ITEM_BYTES} bytes`);
  }
  return capacityOf(length);
}

function checkSequence(sequence: unknown): ListValue[] {
  if (typeof sequence === "string") {
    throw new TypeError("sequence must be an iterable of values, not a string (wrap it: ['text'])");
  }
  if (typeof (sequence as Iterable<ListValue>)?.[Symbol.iterator] !== "function") {
    throw new TypeError(`sequence must be an iterable of values (or null to attach), got ${describe(sequence)}`);
  }
  return Array.from(sequence as Iterable<ListValue>);
}

function isListValue(value: unknown): value is ListValue {
  return value === null || isUint8Array(value) ||
    ["number", "bigint", "boolean", "string"].includes(typeof value);
}

/** Python's `==` between a stored value and anything: numbers and bigints by value, bytes by content. */
function same(item: ListValue, value: unknown): boolean {
  if (item === value) return true;
  const numeric = typeof item === "number" || typeof item === "bigint";
  if (numeric && (typeof value === "number" || typeof value === "bigint")) return item == value;
  if (item instanceof Uint8Array && value instanceof Uint8Array) {
    return item.length === value.length && item.every((byte, k) => byte === value[k]);
  }
  return false;
}

// Python's repr of each kind, for toString.

/** Python's repr of a value read from a list; a number is shown as an int when it is an integer. */
function pythonRepr(value: ListValue): string {
  if (value === null) return "None";
  if (value instanceof Uint8Array) return pythonBytes(value);
  switch (typeof value) {
    case "boolean":
      return value ? "True" : "False";
    case "string":
      return pythonString(value);
    case "number":
      return Number.isInteger(value) && !Object.is(value, -0) ? String(value) : pythonFloat(value);
    default:
      return String(value);
  }
}

/** Python's `repr(float)`: the shortest digits that round-trip, in exponent form below 1e-4 or from 1e16. */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const sign = value < 0 ? "-" : "";
  const [mantissa, power] = Math.abs(value).toExponential().split("e");
  const exponent = Number(power);
  const digits = mantissa.replace(".", "");
  if (exponent < -4 || exponent >= 16) {
    const shown = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${shown}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  return `${sign}${whole}.${digits.slice(exponent + 1) || "0"}`;
}

/** The characters Python's `str.isprintable` refuses (besides ASCII controls): it escapes them in a repr. */
const UNPRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;
const ESCAPES: Readonly<Record<number, string>> = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r", 0x5c: "\\\\" };

function quoteFor(hasSingle: boolean, hasDouble: boolean): string {
  return hasSingle && !hasDouble ? '"' : "'";
}

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, "0");
}

/** Python's `repr(str)`. */
export function pythonString(value: string): string {
  const quote = quoteFor(value.includes("'"), value.includes('"'));
  let out = quote;
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (ESCAPES[code]) out += ESCAPES[code];
    else if (char === quote) out += `\\${quote}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${hex(code, 2)}`;
    else if (code < 0x7f || !UNPRINTABLE.test(char)) out += char;
    else if (code <= 0xff) out += `\\x${hex(code, 2)}`;
    else if (code <= 0xffff) out += `\\u${hex(code, 4)}`;
    else out += `\\U${hex(code, 8)}`;
  }
  return out + quote;
}

/** Python's `repr(bytes)`. */
export function pythonBytes(value: Uint8Array): string {
  const quote = quoteFor(value.includes(0x27), value.includes(0x22));
  let out = `b${quote}`;
  for (const code of value) {
    if (ESCAPES[code]) out += ESCAPES[code];
    else if (code === quote.charCodeAt(0)) out += `\\${quote}`;
    else if (code >= 0x20 && code < 0x7f) out += String.fromCharCode(code);
    else out += `\\x${hex(code, 2)}`;
  }
  return out + quote;
}
