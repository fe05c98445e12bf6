/**
 * numpy's dtypes as data: each one's name, type string, size and the typed array that stores it, and
 * which JavaScript values an element of it takes.
 *
 * | dtype   | numpy typestr | bytes | stored in      | an element reads as | an element takes                     |
 * | ------- | ------------- | ----- | -------------- | ------------------- | ------------------------------------ |
 * | bool    | `|b1`         | 1     | Uint8Array     | boolean             | boolean, or the number 0 or 1        |
 * | int8    | `|i1`         | 1     | Int8Array      | number              | an integer in range                  |
 * | uint8   | `|u1`         | 1     | Uint8Array     | number              | an integer in range                  |
 * | int16   | `<i2`         | 2     | Int16Array     | number              | an integer in range                  |
 * | uint16  | `<u2`         | 2     | Uint16Array    | number              | an integer in range                  |
 * | int32   | `<i4`         | 4     | Int32Array     | number              | an integer in range                  |
 * | uint32  | `<u4`         | 4     | Uint32Array    | number              | an integer in range                  |
 * | int64   | `<i8`         | 8     | BigInt64Array  | bigint              | a bigint in range, or a safe integer |
 * | uint64  | `<u8`         | 8     | BigUint64Array | bigint              | a bigint in range, or a safe integer |
 * | float16 | `<f2`         | 2     | Float16Array   | number              | any number (rounded to the nearest)  |
 * | float32 | `<f4`         | 4     | Float32Array   | number              | any number (rounded to the nearest)  |
 * | float64 | `<f8`         | 8     | Float64Array   | number              | any number                           |
 *
 * Every multi-byte type is little-endian (`<`), the byte order of every platform this library supports
 * (x86-64 and arm64), and the order typed arrays use there. `float16` exists only where the runtime has
 * `Float16Array`. An element is stored at its natural alignment: its byte offset is a multiple of its size.
 */
import { describe } from "./arguments.ts";
import { typedArrayName } from "./intrinsics.ts";

/** The names of the dtypes, as numpy spells them. */
export type DType =
  | "bool"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "float16"
  | "float32"
  | "float64";

/** For each dtype: the typed array that stores it, what an element reads as, and what it accepts. */
export interface DTypeTypes {
  /** `|b1`: one byte, 0 or 1; reads as a boolean. */
  bool: { array: Uint8Array; value: boolean; input: boolean | number };
  /** `|i1`: reads as a number. */
  int8: { array: Int8Array; value: number; input: number };
  /** `|u1`: reads as a number. */
  uint8: { array: Uint8Array; value: number; input: number };
  /** `<i2`: reads as a number. */
  int16: { array: Int16Array; value: number; input: number };
  /** `<u2`: reads as a number. */
  uint16: { array: Uint16Array; value: number; input: number };
  /** `<i4`: reads as a number. */
  int32: { array: Int32Array; value: number; input: number };
  /** `<u4`: reads as a number. */
  uint32: { array: Uint32Array; value: number; input: number };
  /** `<i8`: reads as a bigint; takes a bigint or a safe integer. */
  int64: { array: BigInt64Array; value: bigint; input: bigint | number };
  /** `<u8`: reads as a bigint; takes a bigint or a safe integer. */
  uint64: { array: BigUint64Array; value: bigint; input: bigint | number };
  /** `<f2`: reads as a number (only where the runtime has `Float16Array`). */
  float16: { array: Float16Array; value: number; input: number };
  /** `<f4`: reads as a number. */
  float32: { array: Float32Array; value: number; input: number };
  /** `<f8`: reads as a number. */
  float64: { array: Float64Array; value: number; input: number };
}

/** The typed array that stores elements of dtype `D`. */
export type TypedArrayOf<D extends DType> = DTypeTypes[D]["array"];
/** What an element of dtype `D` reads as. */
export type ValueOf<D extends DType> = DTypeTypes[D]["value"];
/** What an element of dtype `D` can be set to. */
export type InputOf<D extends DType> = DTypeTypes[D]["input"];

/** Any typed array that can store a dtype. */
export type AnyTypedArray = TypedArrayOf<DType> | Uint8ClampedArray;

/** A typed array class, as used here: a view of `length` elements at `byteOffset`, or a new zeroed one. */
export interface TypedArrayClass {
  /** A view of `length` elements of `buffer` from `byteOffset`. */
  new (buffer: ArrayBuffer, byteOffset: number, length: number): TypedArrayOf<DType>;
  /** A new array of `length` zeros. */
  new (length: number): TypedArrayOf<DType>;
  /** The class name, such as `Int32Array`. */
  readonly name: string;
}

/** How elements of a dtype are checked: booleans, integers in JS numbers, integers in bigints, or floats. */
export type DTypeKind = "bool" | "int" | "bigint" | "float";

/** One row of the dtype table. */
export interface DTypeInfo {
  /** numpy's name: `np.dtype(name)` is this dtype. */
  readonly name: DType;
  /** numpy's type string (`np.dtype(name).str`): byte order, kind letter, size. */
  readonly typestr: string;
  /** Bytes per element, also the alignment of its offset. */
  readonly itemsize: number;
  /** The typed array that stores it. */
  readonly array: TypedArrayClass;
  /** How its elements are checked and read. */
  readonly kind: DTypeKind;
  /** The smallest value of an integer dtype (a bigint for 64-bit ones). */
  readonly min?: number | bigint;
  /** The largest value of an integer dtype (a bigint for 64-bit ones). */
  readonly max?: number | bigint;
}

type Row = [name: DType, typestr: string, itemsize: number, array: string, kind: DTypeKind, min?: bigint, max?: bigint];

/** The table. Integer ranges follow from the size; the typed array is looked up by name at load. */
const ROWS: readonly Row[] = [
  ["bool", "|b1", 1, "Uint8Array", "bool"],
  ["int8", "|i1", 1, "Int8Array", "int", -(2n ** 7n), 2n ** 7n - 1n],
  ["uint8", "|u1", 1, "Uint8Array", "int", 0n, 2n ** 8n - 1n],
  ["int16", "<i2", 2, "Int16Array", "int", -(2n ** 15n), 2n ** 15n - 1n],
  ["uint16", "<u2", 2, "Uint16Array", "int", 0n, 2n ** 16n - 1n],
  ["int32", "<i4", 4, "Int32Array", "int", -(2n ** 31n), 2n ** 31n - 1n],
  ["uint32", "<u4", 4, "Uint32Array", "int", 0n, 2n ** 32n - 1n],
  ["int64", "<i8", 8, "BigInt64Array", "bigint", -(2n ** 63n), 2n ** 63n - 1n],
  ["uint64", "<u8", 8, "BigUint64Array", "bigint", 0n, 2n ** 64n - 1n],
  ["float16", "<f2", 2, "Float16Array", "float"],
  ["float32", "<f4", 4, "Float32Array", "float"],
  ["float64", "<f8", 8, "Float64Array", "float"],
];

/** Every dtype this runtime supports, by name (float16 only where `Float16Array` exists). */
export const DTYPES: ReadonlyMap<DType, DTypeInfo> = new Map(
  ROWS.flatMap(([name, typestr, itemsize, arrayName, kind, min, max]): [DType, DTypeInfo][] => {
    const array = (globalThis as unknown as Record<string, TypedArrayClass | undefined>)[arrayName];
    if (typeof array !== "function") return [];
    const range = kind === "int" ? { min: Number(min), max: Number(max) } : kind === "bigint" ? { min, max } : {};
    return [[name, Object.freeze({ name, typestr, itemsize, array, kind, ...range })]];
  }),
);

/** The same rows by numpy type string (`<i8` -> int64). */
const BY_TYPESTR: ReadonlyMap<string, DTypeInfo> = new Map([...DTYPES.values()].map((info) => [info.typestr, info]));

/** The dtype a typed array stores, by its kind (Uint8ClampedArray counts as uint8). */
const BY_ARRAY_NAME: ReadonlyMap<string, DTypeInfo> = new Map([
  ...[...DTYPES.values()].filter((info) => info.name !== "bool").map((info) => [info.array.name, info] as const),
  ["Uint8ClampedArray", DTYPES.get("uint8")!],
]);

/** The dtype named `dtype` (a numpy name such as `int64`, or a type string such as `<i8`). */
export function dtypeInfo(dtype: unknown, argument = "dtype"): DTypeInfo {
  if (typeof dtype !== "string") {
    throw new TypeError(`${argument} must be a string such as 'float64', got ${describe(dtype)}`);
  }
  const info = DTYPES.get(dtype as DType) ?? BY_TYPESTR.get(dtype);
  if (info) return info;
  const hint = dtype === "float16" ? " (this runtime has no Float16Array)" : "";
  throw new TypeError(`unknown ${argument} ${describe(dtype)}${hint}; known: ${[...DTYPES.keys()].join(", ")}`);
}

/**
 * The dtype that a typed array stores, or undefined for anything else. Read from its internal slot,
 * never from `constructor`: a subclass (`class Vec extends Float64Array`) is its base type, and a
 * spoofed `constructor` or a Proxy changes nothing (a Proxy is not a typed array).
 */
export function dtypeOfTypedArray(data: unknown): DTypeInfo | undefined {
  const name = typedArrayName(data);
  return name === undefined ? undefined : BY_ARRAY_NAME.get(name);
}

/** What an element of each kind reads as, from what the typed array holds. */
export const READ: Readonly<Record<DTypeKind, (stored: number | bigint) => number | bigint | boolean>> = {
  bool: (stored) => stored !== 0,
  int: (stored) => stored,
  bigint: (stored) => stored,
  float: (stored) => stored,
};

/**
 * Checks one value for a dtype and returns what the typed array should hold, throwing a TypeError
 * (wrong kind of value) or RangeError (out of range, not a whole number) that names `argument`.
 */
export function toStored(info: DTypeInfo, value: unknown, argument = "value"): number | bigint {
  return STORE[info.kind](info, value, argument);
}

type Store = (info: DTypeInfo, value: unknown, argument: string) => number | bigint;

const STORE: Readonly<Record<DTypeKind, Store>> = {
  bool(_info, value, argument) {
    if (typeof value === "boolean") return value ? 1 : 0;
    if (value === 0 || value === 1) return value;
    if (typeof value === "number") {
      throw new RangeError(`${argument} for bool must be true, false, 0 or 1, got ${value}`);
    }
    throw new TypeError(`${argument} for bool must be a boolean, got ${describe(value)}`);
  },
  int(info, value, argument) {
    if (typeof value !== "number") {
      throw new TypeError(`${argument} for ${info.name} must be a number, got ${describe(value)}`);
    }
    if (!Number.isInteger(value)) throw new RangeError(`${argument} for ${info.name} must be an integer, got ${value}`);
    if (value < (info.min as number) || value > (info.max as number)) {
      throw new RangeError(`${argument} ${value} is out of range for ${info.name} (${info.min} to ${info.max})`);
    }
    return value;
  },
  bigint(info, value, argument) {
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) {
        throw new RangeError(
          `${argument} for ${info.name} must be a bigint or a safe integer, got ${value}; pass a bigint for exact values`,
        );
      }
      value = BigInt(value);
    }
    if (typeof value !== "bigint") {
      throw new TypeError(`${argument} for ${info.name} must be a bigint, got ${describe(value)}`);
    }
    if (value < (info.min as bigint) || value > (info.max as bigint)) {
      throw new RangeError(`${argument} ${value} is out of range for ${info.name} (${info.min} to ${info.max})`);
    }
    return value;
  },
  float(info, value, argument) {
    if (typeof value !== "number") {
      throw new TypeError(`${argument} for ${info.name} must be a number, got ${describe(value)}`);
    }
    return value;
  },
};
