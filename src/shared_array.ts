/**
 * A numpy-style array in shared memory: a dtype, a shape and a typed array over a window of a
 * `SharedMemory`, plus a small descriptor another process (Deno, Bun, a Worker, Python with numpy)
 * attaches by.
 *
 * An array made in a segment of its own describes itself: the segment starts with numpy's `.npy` header
 * (`src/npy.ts`) and the data follows at the padded offset, a multiple of 64. `SharedArray.attach(name)`
 * reads the header, and so does numpy's `np.load("/dev/shm/NAME", mmap_mode="r+")`, zero-copy:
 *
 * ```
 * segment 'psm_1a2b3c4d' (size = offset + nbytes)
 * +--------------------------------------------------------------+----------------------------------+
 * | \x93NUMPY 1 0 len {'descr': '<i4', 'fortran_order': False,    | a[0,0] a[0,1] ... a[1,2]         |
 * |                   'shape': (2, 3), }  <spaces>  \n           |                                  |
 * +--------------------------------------------------------------+----------------------------------+
 * 0                                                              offset (128 here)                  offset + nbytes
 * descriptor: { "kind": "array", "name": "psm_1a2b3c4d", "dtype": "int32", "shape": [2, 3], "offset": 128 }
 * ```
 *
 * One segment of the caller's can hold several arrays, each at an offset aligned to its element size,
 * with no header: those are attached by descriptor. Elements are in C order (the last index varies
 * fastest); `strides` are in bytes, as numpy's:
 *
 * ```
 * segment 'psm_1a2b3c4d' (size >= offset + nbytes)
 * +----------------+---------------------------------------------------------+-------
 * | other data ... | a[0,0] a[0,1] a[0,2] a[1,0] a[1,1] a[1,2]               | ...
 * +----------------+---------------------------------------------------------+-------
 * 0                offset                                                    offset + nbytes
 *                  shape [2, 3], dtype int32: itemsize 4, strides [12, 4], nbytes 24
 * descriptor: { "kind": "array", "name": "psm_1a2b3c4d", "dtype": "int32", "shape": [2, 3], "offset": <offset> }
 * numpy:      np.ndarray((2, 3), dtype=np.dtype("int32"), buffer=shm.buf, offset=<offset>)
 * ```
 *
 * An array with no elements (a 0 in its shape) in a segment of its own is its header alone.
 */
import { printAsString } from "../ffi/inspect.ts";
import { libc } from "../ffi/runtime.ts";
import type { SharedMemory } from "./shared_memory.ts";
import { checkByteCount, checkOptionsObject, describe, MAX_BYTES, optionKeys } from "./arguments.ts";
import { checkName } from "./names.ts";
import { isDescriptorJson, readDescriptor } from "./descriptor.ts";
import {
  attachPlacement,
  construct,
  type ObjectPlacement,
  type Placement,
  PLACEMENT_OPTION_TABLE,
  placeNew,
  SharedObject,
} from "./shared_object.ts";
import {
  type AnyTypedArray,
  type DType,
  type DTypeInfo,
  dtypeInfo,
  dtypeOfTypedArray,
  type InputOf,
  READ,
  toStored,
  type TypedArrayOf,
  type ValueOf,
} from "./dtypes.ts";
import { formatArray, formatValue, nestedListCount } from "./array_format.ts";
import { encodeHeader, readHeader } from "./npy.ts";
import { isArray, isDetachedView, typedArrayLength, typedArrayName, typedArraySet } from "./intrinsics.ts";

/** A shape: the length of each axis (`[]` is 0-d: one element), or one number for a 1-d array. */
export type Shape = number | readonly number[];

/**
 * What another process needs to attach to an array: plain JSON, so it passes through
 * `JSON.stringify`, a command-line argument, `postMessage` and a Python dict unchanged.
 */
export interface ArrayDescriptor<D extends DType = DType> {
  /** What the descriptor describes: always `"array"` in one this library makes; optional in one given to `attach`. */
  kind?: "array";
  /** The segment's name, without the leading `/`. */
  name: string;
  /** numpy's dtype name, such as `int64`: `np.dtype(dtype)` in Python. */
  dtype: D;
  /** The length of each axis, in C order. */
  shape: number[];
  /**
   * Where the first element is, in bytes from the start of the segment: the `.npy` header's length for
   * an array in a segment of its own. Default 0 in a descriptor given to `attach`.
   */
  offset: number;
}

/**
 * Where a new array goes: a new segment of its own (the default: `name`, `mode`, `track`, `reserve`), or
 * `{ shm, offset }` in a segment of the caller's, which the array never closes or unlinks. The placement
 * every shared object takes (src/shared_object.ts); `offset` must be a multiple of the element size.
 */
export type PlacementOptions = ObjectPlacement;

/** Options of `SharedArray.from`: where the array goes, and its dtype and shape if not inferred. */
export interface FromOptions<D extends DType = DType> extends PlacementOptions {
  /**
   * The dtype (a name such as `int32` or a numpy type string such as `<i4`). Default: that of a typed
   * array; for plain arrays `float64` (numbers), `int64` (bigints) or `bool` (booleans).
   */
  dtype?: D;
  /** The shape; its product must equal the number of values. Default: the nesting of `data`, else `[length]`. */
  shape?: Shape;
}

/** Options of `SharedArray.attach`. */
export interface AttachOptions {
  /** Use this already open segment (its name must be the descriptor's) instead of opening it again. */
  shm?: SharedMemory;
  /**
   * The dtype the caller expects: a descriptor of another dtype is a TypeError. It also types the result,
   * so that `attach(json, { dtype: "float64" })` is a `SharedArray<"float64">` that really holds float64.
   */
  dtype?: DType;
}

/** One array of a layout: its shape and dtype. */
export interface ArraySpec {
  /** The array's shape. */
  shape: Shape;
  /** The array's dtype (a name or a numpy type string). */
  dtype: DType | string;
}

/** Where each array of a layout starts, and how large a segment holds them all. */
export interface Layout {
  /** Byte offset of each array, in the order given, each aligned to its element size. */
  offsets: number[];
  /** The segment size that holds them all (at least 1, since a segment cannot be empty). */
  size: number;
}

/** Values, possibly nested in arrays, that `SharedArray.from` copies in. */
export type ArrayData = AnyTypedArray | readonly unknown[];

/**
 * The dtype `SharedArray.from` gives `data` when no dtype is passed: that of a typed array, else by
 * the innermost values: `float64` for numbers, `int64` for bigints, `bool` for booleans.
 */
export type DTypeOfData<T> = T extends Int8Array ? "int8"
  : T extends Uint8Array | Uint8ClampedArray ? "uint8"
  : T extends Int16Array ? "int16"
  : T extends Uint16Array ? "uint16"
  : T extends Int32Array ? "int32"
  : T extends Uint32Array ? "uint32"
  : T extends BigInt64Array ? "int64"
  : T extends BigUint64Array ? "uint64"
  : T extends Float16Array ? "float16"
  : T extends Float32Array ? "float32"
  : T extends Float64Array ? "float64"
  : T extends readonly (infer E)[] ? ([E] extends [bigint] ? "int64"
      : [E] extends [number] ? "float64"
      : [E] extends [boolean] ? "bool"
      : [E] extends [ArrayData] ? DTypeOfData<E>
      : DType)
  : DType;

/** Every option of `SharedArray.from`, once: the placement's (`zeros` and `create` take those alone), dtype and shape. */
const FROM_OPTION_TABLE = { ...PLACEMENT_OPTION_TABLE, dtype: true, shape: true } as const satisfies Record<
  keyof FromOptions,
  true
>;
/** Every option of `SharedArray.attach`, once. */
const ATTACH_OPTION_TABLE = { shm: true, dtype: true } as const satisfies Record<keyof AttachOptions, true>;

/** The options of `SharedArray.from`. */
export const FROM_OPTIONS: ReadonlySet<string> = optionKeys(FROM_OPTION_TABLE);
/** The options of `SharedArray.zeros`. */
export const ZEROS_OPTIONS: ReadonlySet<string> = optionKeys(PLACEMENT_OPTION_TABLE);
const ATTACH_OPTIONS = optionKeys(ATTACH_OPTION_TABLE);

/** The most empty lists `toList()` builds for an array with no elements (it holds nothing, so a bound is no loss). */
const MAX_EMPTY_LISTS = 2 ** 20;

/** The default dtype of plain values, by their JS type. */
const DEFAULT_DTYPES: Readonly<Record<string, DType>> = { number: "float64", bigint: "int64", boolean: "bool" };

/**
 * A numpy-style array whose elements live in shared memory. `data` is a typed array over the segment
 * (no copy): what one process writes there, every process attached to the segment sees.
 */
export class SharedArray<D extends DType = DType> extends SharedObject<ArrayDescriptor<D> & { kind: "array" }> {
  readonly #info: DTypeInfo;
  readonly #shape: readonly number[];
  readonly #strides: readonly number[];
  /** Strides in elements, for indexing the typed array. */
  readonly #elementStrides: readonly number[];
  readonly #size: number;
  /** The segment, and whether `onClose` ran: the two reads of `#checkOpen`, on every `get` and `set`. */
  readonly #shm: SharedMemory;
  #released = false;
  #data: TypedArrayOf<DType>;

  private constructor(placement: Placement, info: DTypeInfo, shape: number[]) {
    super(placement, "array", { dtype: info.name as D, shape: Object.freeze([...shape]) as number[] });
    const { shm, offset } = placement;
    this.#shm = shm;
    this.#info = info;
    this.#shape = Object.freeze(shape);
    this.#elementStrides = Object.freeze(elementStrides(shape));
    this.#strides = Object.freeze(this.#elementStrides.map((stride) => stride * info.itemsize));
    this.#size = sizeOf(shape);
    const bytes = shm.view(offset, this.#size * info.itemsize);
    this.#data = new info.array(bytes.buffer as ArrayBuffer, bytes.byteOffset, this.#size);
  }

  /**
   * A new zero-filled array of `shape` and `dtype` (default `float64`): in a new segment, or in
   * `options.shm` at `options.offset` (whose bytes are then set to zero).
   */
  static zeros<D extends DType = "float64">(shape: Shape, dtype?: D, options: PlacementOptions = {}): SharedArray<D> {
    const info = dtypeInfo(dtype === undefined ? "float64" : dtype);
    const checkedShape = checkShape(shape, "shape", info);
    checkOptionsObject(options, ZEROS_OPTIONS);
    checkOneBuffer(sizeOf(checkedShape) * info.itemsize);
    // a caller's segment holds old bytes; a new one is zero already
    return SharedArray.#place<D>(options, checkedShape, info, (array) => options.shm && array.#bytes().fill(0));
  }

  /**
   * A new zero-filled array: the name every shared object gives making a new one (`SharedArray.zeros`).
   *
   * @example
   * ```ts
   * import { SharedArray } from "@shm/shared-memory";
   *
   * using grid = SharedArray.create([2, 3], "int32");
   * grid.set(1, 2, 7);
   * using other = SharedArray.attach(grid.descriptor.name); // in any process, or numpy's np.load(..., mmap_mode="r+")
   * console.assert(other.get(1, 2) === 7);
   * ```
   */
  static create<D extends DType = "float64">(shape: Shape, dtype?: D, options: PlacementOptions = {}): SharedArray<D> {
    return SharedArray.zeros<D>(shape, dtype, options);
  }

  /**
   * A new array holding a copy of `data`: a typed array, or numbers, bigints or booleans, possibly
   * nested (`[[1, 2], [3, 4]]` has shape `[2, 2]`). Every value is checked against the dtype before
   * anything is created or written; after that the array and `data` are independent.
   */
  static from<T extends ArrayData, D extends DType = DTypeOfData<T>>(
    data: T,
    options: FromOptions<D> = {},
  ): SharedArray<D> {
    checkOptionsObject(options, FROM_OPTIONS);
    const given = options.dtype === undefined ? undefined : dtypeInfo(options.dtype);
    const { staged, info, shape } = stage(data, given, options.shape);
    checkOneBuffer(staged.length * info.itemsize);
    return SharedArray.#place<D>(options, shape, info, (array) => array.#data.set(staged as never));
  }

  /**
   * The array in segment `name`, as its `.npy` header describes it (an array made in a segment of its
   * own, by this library, numpy or `shm_interop`); or the array a descriptor describes: the object from
   * another array's `descriptor` property, or that object as a JSON string (a string starting with `{`).
   * Opens the segment (or uses `options.shm`); writes nothing. A header that is malformed or disagrees
   * with the segment's size is a `MalformedArrayError`.
   */
  static attach<D extends DType>(nameOrDescriptor: ArrayDescriptor<D>, options?: AttachOptions): SharedArray<D>;
  /** With `options.dtype`, the array must be of that dtype (a TypeError otherwise), and is typed by it. */
  static attach<D extends DType>(
    nameOrDescriptor: ArrayDescriptor | string,
    options: AttachOptions & { dtype: D },
  ): SharedArray<D>;
  /** A name, or a descriptor whose dtype is not known when compiling: the dtype is read from the segment or descriptor. */
  static attach(nameOrDescriptor: ArrayDescriptor | string, options?: AttachOptions): SharedArray;
  static attach(nameOrDescriptor: ArrayDescriptor | string, options: AttachOptions = {}): SharedArray {
    const byName = typeof nameOrDescriptor === "string" && !isDescriptorJson(nameOrDescriptor);
    const described = byName ? undefined : checkDescriptor(nameOrDescriptor);
    if (byName) checkName(nameOrDescriptor, "name");
    const name = described?.name ?? (nameOrDescriptor as string);
    checkOptionsObject(options, ATTACH_OPTIONS);
    const expected = options.dtype === undefined ? undefined : dtypeInfo(options.dtype, "options.dtype");
    // The segment, opened (or options.shm, borrowed); where the array is in it is checked next.
    const segment = attachPlacement({ kind: "array", name, offset: 0 }, 0, 1, options.shm);
    return construct(() => {
      const { shm } = segment;
      const { info, shape, offset } = described ?? readHeader((at, length) => shm.view(at, length), shm.size, name);
      if (expected !== undefined && expected !== info) {
        throw new TypeError(
          `the array's dtype is ${info.name}, not ${describe(options.dtype)} as options.dtype expects`,
        );
      }
      const nbytes = sizeOf(shape) * info.itemsize;
      checkOneBuffer(nbytes);
      checkOffset(offset, nbytes, info, shm.size, "descriptor.offset");
      return new SharedArray({ ...segment, offset }, info, shape);
    }, segment);
  }

  /**
   * Offsets for several arrays in one segment, each aligned to its element size, and the segment size
   * that holds them all. Place each with `{ shm, offset: offsets[i] }`.
   */
  static layout(specs: readonly ArraySpec[]): Layout {
    if (!Array.isArray(specs)) {
      throw new TypeError(`specs must be an array of { shape, dtype }, got ${describe(specs)}`);
    }
    const offsets: number[] = [];
    let end = 0;
    specs.forEach((spec, i) => {
      if (spec === null || typeof spec !== "object") {
        throw new TypeError(`specs[${i}] must be an object { shape, dtype }, got ${describe(spec)}`);
      }
      const info = dtypeInfo(spec.dtype, `specs[${i}].dtype`);
      const nbytes = sizeOf(checkShape(spec.shape, `specs[${i}].shape`, info)) * info.itemsize;
      const offset = Math.ceil(end / info.itemsize) * info.itemsize;
      offsets.push(offset);
      end = offset + nbytes;
      if (end > MAX_BYTES) throw new RangeError(`the arrays need more than ${MAX_BYTES} bytes`);
    });
    return { offsets, size: Math.max(end, 1) };
  }

  /** The elements, as a typed array over the segment (no copy). Empty once closed. */
  get data(): TypedArrayOf<D> {
    return this.#data as TypedArrayOf<D>;
  }

  /** The dtype's name, such as `int64`. */
  get dtype(): D {
    return this.#info.name as D;
  }

  /** numpy's type string of the dtype, such as `<i8` (`np.dtype(typestr)` in Python). */
  get typestr(): string {
    return this.#info.typestr;
  }

  /** Bytes per element. */
  get itemsize(): number {
    return this.#info.itemsize;
  }

  /** The length of each axis (frozen). */
  get shape(): readonly number[] {
    return this.#shape;
  }

  /** Bytes from one entry of each axis to the next, in C order (frozen), as numpy's `strides`. */
  get strides(): readonly number[] {
    return this.#strides;
  }

  /** The number of axes (0 for a 0-d array). */
  get ndim(): number {
    return this.#shape.length;
  }

  /** The number of elements: the product of the shape (1 for 0-d). */
  get size(): number {
    return this.#size;
  }

  /** The bytes the elements take: `size * itemsize`. */
  get nbytes(): number {
    return this.#size * this.#info.itemsize;
  }

  /** Where the first element is, in bytes from the start of the segment. */
  get offset(): number {
    return this.placement.offset;
  }

  /** The segment the array lives in. */
  get shm(): SharedMemory {
    return this.placement.shm;
  }

  /** Whether the array (or its segment) is closed: `data` is then empty and `get`/`set` throw. */
  override get closed(): boolean {
    return super.closed || this.placement.shm.closed;
  }

  /**
   * What another process attaches by: `{ kind: "array", name, offset, dtype, shape }`, a new plain object
   * each time (its `shape` the caller's to change). An array in a segment of its own is also attached by
   * its name alone. `JSON.stringify(array)` gives the same.
   */
  override get descriptor(): ArrayDescriptor<D> & { kind: "array" } {
    const described = super.descriptor;
    return { ...described, shape: [...described.shape] };
  }

  /**
   * The element at `index` (one integer per axis; negative counts from the end, as in numpy).
   * int64/uint64 read as bigints, bool as booleans, the rest as numbers.
   */
  get(...index: number[]): ValueOf<D> {
    const flat = this.#flatIndex(index);
    return READ[this.#info.kind](this.#data[flat]) as ValueOf<D>;
  }

  /**
   * Sets the element at `index` (one integer per axis, then the value). The value is checked against
   * the dtype first: a wrong kind is a TypeError, out of range a RangeError, and nothing is written.
   */
  set(...indexAndValue: [...index: number[], value: InputOf<D>]): void {
    const index = indexAndValue.slice(0, -1) as number[];
    const flat = this.#flatIndex(index);
    const stored = toStored(this.#info, indexAndValue[indexAndValue.length - 1]);
    (this.#data as unknown as Record<number, number | bigint>)[flat] = stored;
  }

  /** The elements as nested plain arrays (a 0-d array gives its one element), as numpy's `tolist()`. */
  toList(): unknown {
    this.#checkOpen();
    // A non-empty array has at most `size` lists; an empty one (a 0 in its shape) could have any number.
    if (this.#size === 0 && nestedListCount(this.#shape, MAX_EMPTY_LISTS) > MAX_EMPTY_LISTS) {
      throw new RangeError(
        `toList() of an empty array of shape [${
          this.#shape.join(", ")
        }] would build more than ${MAX_EMPTY_LISTS} empty lists`,
      );
    }
    const read = READ[this.#info.kind];
    const build = (axis: number, base: number): unknown =>
      axis === this.#shape.length
        ? read(this.#data[base])
        : Array.from({ length: this.#shape[axis] }, (_, i) => build(axis + 1, base + i * this.#elementStrides[axis]));
    return build(0, 0);
  }

  /**
   * The elements as a nested list on one line: `[2, 4, 6, 8, 10]`, `[[1, 2], [3, 4]]`; bigints
   * without `n`, bools as `true`/`false`, a 0-d array as its element; more than 1000 elements
   * summarized with `...` as numpy does.
   */
  override toString(): string {
    if (!(#info in this)) return "SharedArray {}"; // the prototype itself, as console.log(SharedArray.prototype) asks
    if (this.closed) return `SharedArray(closed, dtype=${this.dtype}, shape=[${this.#shape.join(", ")}])`;
    const read = READ[this.#info.kind];
    return formatArray(this.#shape, (i) => formatValue(read(this.#data[i])));
  }

  /** `close()` and dispose (src/shared_object.ts) close the segment if the array opened or created it; `data` empties here. */
  protected override onClose(): void {
    this.#released = true;
    this.#data = new this.#info.array(0);
  }

  #checkOpen(): void {
    if (this.#released || this.#shm.closed) {
      throw new TypeError(`SharedArray over '${this.#shm.name}' is closed`);
    }
  }

  /**
   * Places a new array of `shape` and `info` as `options` say (src/shared_object.ts), makes it there and
   * lets `fill` set its elements; on failure a segment made for it is removed again. In a caller's segment
   * the array sits at `offset`, bare; in a new segment of its own it follows its `.npy` header.
   */
  static #place<D extends DType>(
    options: ObjectPlacement,
    shape: number[],
    info: DTypeInfo,
    fill: (array: SharedArray<D>) => void,
  ): SharedArray<D> {
    const nbytes = sizeOf(shape) * info.itemsize;
    const { shm, offset, name, mode, track, reserve } = options;
    const where = { shm, offset, name, mode, track, reserve };
    const make = (placement: Placement, before = () => {}) =>
      construct(() => {
        before();
        const array = new SharedArray<D>(placement, info, shape);
        fill(array);
        return array;
      }, placement);
    if (shm !== undefined) return make(placeNew(where, nbytes, info.itemsize));
    const header = encodeHeader(info, shape);
    if (header.length + nbytes > MAX_BYTES) throw new RangeError(`the array needs more than ${MAX_BYTES} bytes`);
    const segment = placeNew(where, header.length + nbytes, 1);
    return make({ ...segment, offset: header.length }, () => segment.shm.view(0, header.length).set(header));
  }

  /** The element's bytes. */
  #bytes(): Uint8Array {
    return new Uint8Array(this.#data.buffer, this.#data.byteOffset, this.#data.byteLength);
  }

  #flatIndex(index: readonly number[]): number {
    this.#checkOpen();
    return flatIndex(this.#shape, this.#elementStrides, index);
  }
}

printAsString(SharedArray.prototype);

/**
 * Checks a shape (a number for 1-d, or an array of lengths) and returns it as a new array: each length
 * a whole number >= 0, and with `info`, the whole array at most `MAX_BYTES` bytes.
 */
export function checkShape(shape: unknown, argument = "shape", info?: DTypeInfo): number[] {
  const lengths = typeof shape === "number" ? [shape] : shape;
  if (!Array.isArray(lengths)) {
    throw new TypeError(`${argument} must be an array of lengths such as [2, 3], got ${describe(shape)}`);
  }
  const checked: number[] = [];
  let bytes = info?.itemsize ?? 1;
  lengths.forEach((length: unknown, axis) => {
    const name = typeof shape === "number" ? argument : `${argument}[${axis}]`;
    if (typeof length !== "number") throw new TypeError(`${name} must be a number, got ${describe(length)}`);
    if (!Number.isInteger(length) || length < 0) {
      throw new RangeError(`${name} must be a whole number >= 0, got ${length}`);
    }
    bytes *= length;
    if (length > MAX_BYTES || bytes > MAX_BYTES) {
      throw new RangeError(`${argument} [${lengths.join(", ")}] needs more than ${MAX_BYTES} bytes`);
    }
    checked.push(length);
  });
  return checked;
}

/** The number of elements of a shape: the product of its lengths (1 for `[]`). */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((product, length) => product * length, 1);
}

/**
 * C-order strides in elements: how far apart consecutive entries of each axis are. An axis of length 0
 * counts as 1, as numpy's `np.ndarray(shape, buffer=...)` computes them (`(2, 0, 3)` float64: `(24, 24, 8)`).
 */
export function elementStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= Math.max(shape[axis], 1);
  }
  return strides;
}

/**
 * The flat position of `index` (one integer per axis, negative counting from the end) in an array of
 * `shape` with C-order element `strides`; TypeError for a non-number, RangeError for a bad index.
 */
export function flatIndex(shape: readonly number[], strides: readonly number[], index: readonly number[]): number {
  if (index.length !== shape.length) {
    throw new RangeError(`a ${shape.length}-d array takes ${shape.length} indices, got ${index.length}`);
  }
  let flat = 0;
  for (let axis = 0; axis < shape.length; axis++) {
    let i = index[axis];
    if (typeof i !== "number") throw new TypeError(`index ${axis} must be a number, got ${describe(i)}`);
    if (!Number.isInteger(i)) throw new RangeError(`index ${axis} must be an integer, got ${i}`);
    const length = shape[axis];
    if (i < -length || i >= length) {
      throw new RangeError(`index ${i} is out of bounds for axis ${axis} with size ${length}`);
    }
    if (i < 0) i += length;
    flat += i * strides[axis];
  }
  return flat;
}

/**
 * An array's elements must fit one ArrayBuffer of this runtime (Bun: 4 GiB): checked before any
 * segment is made, with what to do instead.
 */
function checkOneBuffer(nbytes: number): void {
  const largest = libc().maxArrayBufferBytes;
  if (nbytes <= largest) return;
  throw new RangeError(
    `an array of ${nbytes} bytes is larger than this runtime's largest ArrayBuffer (${largest} bytes): ` +
      "split it into arrays of at most that size (SharedArray.layout places several in one segment), " +
      "or run it in Deno, which has no such limit",
  );
}

/** An offset must be whole, aligned to the element size, and leave room for the array in `size` bytes. */
function checkOffset(offset: unknown, nbytes: number, info: DTypeInfo, size: number, argument: string): number {
  checkByteCount(offset, argument);
  if (offset % info.itemsize !== 0) {
    throw new RangeError(
      `${argument} ${offset} is not a multiple of ${info.itemsize}, the size of a ${info.name} element`,
    );
  }
  if (offset + nbytes > size) {
    throw new RangeError(
      `${argument} ${offset} + ${nbytes} bytes of ${info.name} data runs past the end of the ${size}-byte segment`,
    );
  }
  return offset;
}

/** Checks a descriptor (object or JSON string; `kind`, if there, must be "array") and returns its parts. */
function checkDescriptor(descriptor: unknown): { name: string; info: DTypeInfo; shape: number[]; offset: number } {
  const { name, dtype, shape, offset } = readDescriptor(descriptor, "array", true);
  checkName(name, "descriptor.name");
  const info = dtypeInfo(dtype, "descriptor.dtype");
  const checkedShape = checkShape(shape, "descriptor.shape", info);
  return { name, info, shape: checkedShape, offset };
}

/**
 * The values of `data` checked and converted into a fresh (private) typed array of the dtype, and the
 * shape: the whole copy-in is decided here, before any segment exists. Every value is read once, from
 * the real object: a typed array through its internal slots (an own `length`, a spoofed `constructor`
 * or a Proxy cannot change what is copied), nested arrays into private copies; nothing after this reads
 * `data` again, so no getter or Proxy trap can run once the segment exists.
 */
function stage(
  data: unknown,
  given: DTypeInfo | undefined,
  shapeOption: Shape | undefined,
): { staged: TypedArrayOf<DType>; info: DTypeInfo; shape: number[] } {
  const typed = dtypeOfTypedArray(data);
  let values: ArrayLike<unknown>;
  let nested: number[];
  if (typed) {
    values = copyOfTypedArray(data as AnyTypedArray, typed, "data");
    nested = [values.length];
  } else if (isArray(data)) {
    ({ values, shape: nested } = flatten(data));
  } else {
    throw new TypeError(
      `data must be a typed array or an array of numbers, bigints or booleans, got ${describe(data)}`,
    );
  }
  const info = given ?? typed ?? defaultDType(values);
  const shape = shapeOption === undefined ? nested : checkShape(shapeOption, "shape", info);
  if (shapeOption !== undefined && sizeOf(shape) !== values.length) {
    throw new RangeError(
      `shape [${shape.join(", ")}] holds ${sizeOf(shape)} elements but data has ${values.length}`,
    );
  }
  if (shapeOption === undefined) checkShape(shape, "shape", info);
  if (typed === info) return { staged: values as TypedArrayOf<DType>, info, shape };
  const staged = new info.array(values.length);
  const target = staged as unknown as Record<number, number | bigint>;
  for (let i = 0; i < values.length; i++) target[i] = toStored(info, values[i], `data[${i}]`);
  return { staged, info, shape };
}

/**
 * A private copy of a typed array of kind `typed`, read from its internal slots; a TypeError for one
 * whose buffer is detached (transferred away, or a view of a closed segment), which holds nothing.
 */
function copyOfTypedArray(data: AnyTypedArray, typed: DTypeInfo, path: string): TypedArrayOf<DType> {
  if (isDetachedView(data)) {
    throw new TypeError(
      `${path} is a detached ${typedArrayName(data)} (its buffer was transferred or its segment closed)`,
    );
  }
  const copy = new typed.array(typedArrayLength(data));
  typedArraySet(copy, data);
  return copy;
}

function defaultDType(values: ArrayLike<unknown>): DTypeInfo {
  if (values.length === 0) return dtypeInfo("float64");
  const name = DEFAULT_DTYPES[typeof values[0]];
  if (name === undefined) {
    throw new TypeError(`data[0] must be a number, bigint or boolean, got ${describe(values[0])}`);
  }
  return dtypeInfo(name);
}

/** The deepest nesting `SharedArray.from` reads: numpy 2's most dimensions (`NPY_MAXDIMS`). */
export const MAX_NESTING = 64;

/** The largest length a real array can have. */
const MAX_ARRAY_LENGTH = 2 ** 32 - 1;

/**
 * The items of one list of nested input, each read once into a private copy, or undefined for a value.
 * An array's `length` and items are read once each (a Proxy of an array or an index getter runs once,
 * and what it said is what is used); a typed array is read from its slots.
 */
function itemsOf(x: unknown, path: string): ArrayLike<unknown> | undefined {
  const typed = dtypeOfTypedArray(x);
  if (typed) return copyOfTypedArray(x as AnyTypedArray, typed, path);
  if (!isArray(x)) return undefined;
  const length: unknown = x.length;
  if (typeof length !== "number" || !Number.isInteger(length) || length < 0 || length > MAX_ARRAY_LENGTH) {
    throw new RangeError(`${path} reports a length of ${describe(length)}, which no array has`);
  }
  const items = new Array<unknown>(length);
  for (let i = 0; i < length; i++) items[i] = x[i];
  return items;
}

/**
 * The leaves of nested arrays in C order, and the shape of the nesting, in one walk that reads each
 * list once. The first list at each depth sets that axis' length (`data`, `data[0]`, `data[0][0]`...,
 * down to the first value or empty list); ragged nesting is a RangeError, and so is nesting deeper than
 * `MAX_NESTING`; a list that contains itself is a TypeError, found before it could loop.
 */
function flatten(data: readonly unknown[]): { values: unknown[]; shape: number[] } {
  const shape: number[] = [];
  /** The number of axes, once the first value or empty list has fixed it. */
  let depth: number | undefined;
  const values: unknown[] = [];
  const open = new Set<unknown>();
  const walk = (x: unknown, axis: number, path: string): void => {
    if (open.has(x)) throw new TypeError(`data contains itself: ${path} is one of the lists that hold it`);
    const items = itemsOf(x, path);
    if (items === undefined) {
      depth ??= axis;
      if (axis < depth) throw new RangeError(`data is ragged: ${path} is a value where a list was expected`);
      values.push(x);
      return;
    }
    if (depth !== undefined && axis >= depth) {
      throw new RangeError(`data is ragged: ${path} is a list where a value was expected`);
    }
    if (axis >= MAX_NESTING) throw new RangeError(`data is nested more than ${MAX_NESTING} deep (at ${path})`);
    if (axis === shape.length) shape.push(items.length);
    else if (items.length !== shape[axis]) {
      throw new RangeError(`data is ragged: ${path} has length ${items.length}, expected ${shape[axis]}`);
    }
    if (items.length === 0) {
      depth ??= axis + 1;
      return;
    }
    open.add(x);
    for (let i = 0; i < items.length; i++) walk(items[i], axis + 1, `${path}[${i}]`);
    open.delete(x);
  };
  walk(data, 0, "data");
  return { values, shape };
}
