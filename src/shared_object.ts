/**
 * The one shape of every object that lives in shared memory (issue 13), written once:
 *
 * - placement: `create(options)` makes a small segment of its own (tracked like any segment this
 *   process creates), or places the object with `{ shm, offset }` in a segment the caller owns;
 * - hand-over: a JSON `descriptor` `{ kind, name, offset, ... }`, and `attach(descriptor)` (or a bare
 *   segment name, meaning offset 0) from any process;
 * - ownership: `close()` releases the handle and closes the segment only if the object opened or
 *   created it, never a borrowed `shm`; `[Symbol.dispose]` also unlinks a segment the object created;
 * - a header at the object's offset (magic, version, kind, ready) checked on attach, so that a segment
 *   that is not what the descriptor claims is a clear `MalformedObjectError`, never a misread.
 *
 * The header, 16 bytes at the object's offset (little-endian):
 * ```
 * 0          4          6       8        12         16
 * | magic    | version  | kind  | state  | reserved |  then the object's own bytes
 *   "SHMO"     u16        u16     u32: 0 while being made, 1 once ready (stored last)
 * ```
 * An object that has no header of its own (SharedArray, ShareableList) uses placement, descriptor and
 * ownership alone (`headerless` kinds).
 */
import { checkOptionsObject, describe } from "./arguments.ts";
import { withArticle } from "./describe.ts";
import { readDescriptor } from "./descriptor.ts";
import { SharedMemory } from "./shared_memory.ts";

/** Who closes and unlinks the segment: the object created it, opened it, or borrowed the caller's. */
export type Ownership = "created" | "attached" | "borrowed";

/** What every descriptor holds: plain JSON, so it passes through postMessage, a pipe or a file. */
export interface SharedObjectDescriptor {
  /** What the object is: `"mutex"`, `"semaphore"`, ... */
  readonly kind: string;
  /** The segment's name. */
  readonly name: string;
  /** The object's byte offset in the segment. */
  readonly offset: number;
}

/** Where `create` puts an object: a new segment of its own (the default), or `{ shm, offset }`. */
export interface ObjectPlacement {
  /** Place the object in this open segment instead of creating one; it is never closed or unlinked for you. */
  shm?: SharedMemory;
  /** The byte offset in `shm`, aligned as the object needs (8 for the sync objects). Default 0. Needs `shm`. */
  offset?: number;
  /** The name of the new segment (default: a fresh `psm_` name). Not with `shm`. */
  name?: string;
  /** Permission bits of the new segment (default `0o600`). Not with `shm`. */
  mode?: number;
  /** Unlink the new segment at the latest when this process ends (default `true`). Not with `shm`. */
  track?: boolean;
  /**
   * Reserve the new segment's memory at create (default `true`), as `SharedMemory`'s `reserve`: `false`
   * makes a sparse segment, whose pages are allocated when first touched. Not with `shm`.
   */
  reserve?: boolean;
}

/** Every option of `ObjectPlacement`, once: an option added to the interface without its row is a type error. */
export const PLACEMENT_OPTION_TABLE = {
  shm: true,
  offset: true,
  name: true,
  mode: true,
  track: true,
  reserve: true,
} as const satisfies Record<keyof ObjectPlacement, true>;

/** The option names of `ObjectPlacement`, for `checkOptionsObject`. */
export const PLACEMENT_OPTIONS: readonly string[] = Object.keys(PLACEMENT_OPTION_TABLE);

/** Where an object is: its segment, its offset, and who owns the segment. */
export interface Placement {
  /** The segment the object lives in. */
  readonly shm: SharedMemory;
  /** Its byte offset there. */
  readonly offset: number;
  /** Whether the object created the segment, opened it, or borrowed the caller's. */
  readonly ownership: Ownership;
}

/** A segment or descriptor that is not the object it claims to be. */
export class MalformedObjectError extends Error {
  /** The segment's name. */
  readonly segment: string;
  /** The object's offset in it. */
  readonly offset: number;
  /** Made by the library; `message` says what is wrong. */
  constructor(message: string, segment: string, offset: number) {
    super(message);
    this.name = "MalformedObjectError";
    this.segment = segment;
    this.offset = offset;
  }
}

/** The header, as data. */
export const OBJECT_HEADER = {
  bytes: 16,
  /** "SHMO" read as a little-endian u32. */
  magic: 0x4f4d4853,
  magicOffset: 0,
  versionOffset: 4,
  kindOffset: 6,
  stateOffset: 8,
  stateMaking: 0,
  stateReady: 1,
} as const;

/** Each kind's number in the header. A new kind is a new row. */
export const OBJECT_KINDS: Readonly<Record<string, number>> = {
  mutex: 1,
  semaphore: 2,
  event: 3,
  condition: 4,
  barrier: 5,
  channel: 6,
};

const kindName = (code: number) => Object.keys(OBJECT_KINDS).find((k) => OBJECT_KINDS[k] === code);

/** Checks `offset` against `size` bytes in a segment of `segmentSize`, aligned to `alignment`. */
export function checkPlacementOffset(
  offset: unknown,
  size: number,
  alignment: number,
  segmentSize: number,
  argument: string,
): asserts offset is number {
  if (typeof offset !== "number") throw new TypeError(`${argument} must be a number, got ${describe(offset)}`);
  if (!Number.isInteger(offset) || offset < 0) {
    throw new RangeError(`${argument} must be a whole number of bytes >= 0, got ${offset}`);
  }
  if (offset % alignment !== 0) throw new RangeError(`${argument} must be a multiple of ${alignment}, got ${offset}`);
  if (offset + size > segmentSize) {
    throw new RangeError(
      `${argument} ${offset} + ${size} bytes runs past the end of the ${segmentSize}-byte segment`,
    );
  }
}

function checkShm(shm: unknown, argument: string): SharedMemory {
  if (!(shm instanceof SharedMemory)) throw new TypeError(`${argument} must be a SharedMemory, got ${describe(shm)}`);
  if (shm.closed) throw new TypeError(`${argument} is closed`);
  return shm;
}

/**
 * Places `size` bytes, aligned to `alignment`, for a new object: at `options.offset` in `options.shm`,
 * or at 0 in a new segment of exactly that size. `extra` names the caller's own option keys.
 */
export function placeNew(
  options: ObjectPlacement | undefined,
  size: number,
  alignment: number,
  extra: readonly string[] = [],
): Placement {
  options ??= {};
  checkOptionsObject(options, new Set([...PLACEMENT_OPTIONS, ...extra]));
  const { shm, offset, name, mode, track, reserve } = options;
  if (shm !== undefined) {
    for (const key of ["name", "mode", "track", "reserve"] as const) {
      if (options[key] !== undefined) throw new TypeError(`${key} is for a new segment: not with shm`);
    }
    const borrowed = checkShm(shm, "shm");
    const at = offset ?? 0;
    checkPlacementOffset(at, size, alignment, borrowed.size, "offset");
    return { shm: borrowed, offset: at, ownership: "borrowed" };
  }
  if (offset !== undefined) throw new TypeError("offset needs shm (a new segment holds the object at 0)");
  return {
    shm: new SharedMemory({ create: true, size, name, mode, track, reserve }),
    offset: 0,
    ownership: "created",
  };
}

/**
 * Reads a descriptor: the object, that object as JSON, or a bare segment name (offset 0). Checks the
 * base fields and the kind; `check` checks the kind's own fields.
 */
export function parseDescriptor<D extends SharedObjectDescriptor>(
  value: unknown,
  kind: string,
  check: (descriptor: Record<string, unknown>) => void = () => {},
): D {
  const d = readDescriptor(value, kind);
  check(d);
  return d as unknown as D;
}

/** Opens the segment a descriptor names (or uses `shm`, which must be that segment) and checks the offset. */
export function attachPlacement(
  descriptor: SharedObjectDescriptor,
  size: number,
  alignment: number,
  shm?: SharedMemory,
): Placement {
  if (shm !== undefined) {
    const borrowed = checkShm(shm, "options.shm");
    if (borrowed.name !== descriptor.name) {
      throw new RangeError(`options.shm is segment '${borrowed.name}' but the descriptor names '${descriptor.name}'`);
    }
    checkAttachOffset(descriptor, size, alignment, borrowed.size);
    return { shm: borrowed, offset: descriptor.offset, ownership: "borrowed" };
  }
  const opened = new SharedMemory({ name: descriptor.name });
  try {
    checkAttachOffset(descriptor, size, alignment, opened.size);
  } catch (error) {
    opened.close();
    throw error;
  }
  return { shm: opened, offset: descriptor.offset, ownership: "attached" };
}

function checkAttachOffset(descriptor: SharedObjectDescriptor, size: number, alignment: number, segmentSize: number) {
  const { name, offset, kind } = descriptor;
  if (offset % alignment !== 0 || offset + size > segmentSize) {
    throw new MalformedObjectError(
      `segment '${name}' (${segmentSize} bytes) cannot hold ${withArticle(kind)} of ${size} bytes at offset ${offset}`,
      name,
      offset,
    );
  }
}

/** Makes an object over `placement`; on failure closes (and unlinks) a segment made or opened for it. */
export function construct<T>(make: () => T, placement: Placement): T {
  try {
    return make();
  } catch (error) {
    if (placement.ownership !== "borrowed") placement.shm.close();
    if (placement.ownership === "created") placement.shm.unlink();
    throw error;
  }
}

/** What `placeObject` places for `create`: `size` bytes aligned to `alignment`, as `options` say. */
export interface NewObject {
  /** The bytes the new object takes. */
  readonly size: number;
  /** The alignment its offset needs. */
  readonly alignment: number;
  /** `create`'s options (checked here: placement keys, plus `extra`, the caller's own keys). */
  readonly options: ObjectPlacement | undefined;
  /** The caller's own option keys, besides the placement ones. */
  readonly extra?: readonly string[];
}

/** What `placeObject` places for `attach`: the object of `kind` a descriptor (or segment name) names. */
export interface ExistingObject {
  /** The kind the descriptor must name. */
  readonly kind: string;
  /** The bytes that must fit at the descriptor's offset. */
  readonly size: number;
  /** The alignment that offset must have. */
  readonly alignment: number;
  /** What `attach` was given: a descriptor, its JSON, or a segment name. */
  readonly descriptor: unknown;
  /** The caller's open segment to use instead of opening one (`attach`'s `options.shm`). */
  readonly shm?: SharedMemory;
  /** Checks the kind's own descriptor fields (`parseDescriptor`'s `check`). */
  readonly check?: (descriptor: Record<string, unknown>) => void;
}

/**
 * The one way a shared object's `create` and `attach` begin: places it (a new placement, or the one a
 * descriptor names), then `make`s it there; if `make` throws, a segment made or opened for it is closed
 * (and unlinked if made). `make` is the kind's constructor, given the placement (and, on attach, the
 * parsed descriptor).
 */
export function placeObject<T>(request: NewObject, make: (placement: Placement) => T): T;
export function placeObject<D extends SharedObjectDescriptor, T>(
  request: ExistingObject,
  make: (placement: Placement, descriptor: D) => T,
): T;
export function placeObject<T>(
  request: NewObject | ExistingObject,
  make: (placement: Placement, descriptor?: SharedObjectDescriptor) => T,
): T {
  if (!("descriptor" in request)) {
    const placement = placeNew(request.options, request.size, request.alignment, request.extra);
    return construct(() => make(placement), placement);
  }
  const descriptor = parseDescriptor(request.descriptor, request.kind, request.check);
  const placement = attachPlacement(descriptor, request.size, request.alignment, request.shm);
  return construct(() => make(placement, descriptor), placement);
}

/** Writes a new object's header, still marked "being made": call `markReady` once its bytes are set. */
export function writeHeader(bytes: Uint8Array, kind: string, version: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, OBJECT_HEADER.bytes);
  view.setUint32(OBJECT_HEADER.magicOffset, OBJECT_HEADER.magic, true);
  view.setUint16(OBJECT_HEADER.versionOffset, version, true);
  view.setUint16(OBJECT_HEADER.kindOffset, OBJECT_KINDS[kind], true);
  view.setUint32(OBJECT_HEADER.stateOffset, OBJECT_HEADER.stateMaking, true);
  view.setUint32(12, 0, true);
}

/** Marks the object ready: the last store of `create`, so that an attacher never sees half an object. */
export function markReady(bytes: Uint8Array): void {
  const words = new Int32Array(bytes.buffer, bytes.byteOffset + OBJECT_HEADER.stateOffset, 1);
  Atomics.store(words, 0, OBJECT_HEADER.stateReady);
}

/** Checks the header of an object being attached. */
export function checkHeader(bytes: Uint8Array, kind: string, version: number, placement: Placement): void {
  const { shm, offset } = placement;
  const view = new DataView(bytes.buffer, bytes.byteOffset, OBJECT_HEADER.bytes);
  const fail = (why: string) => {
    throw new MalformedObjectError(`segment '${shm.name}' at offset ${offset} ${why}`, shm.name, offset);
  };
  if (view.getUint32(OBJECT_HEADER.magicOffset, true) !== OBJECT_HEADER.magic) {
    fail(`holds no shared object (no "SHMO" header): not ${withArticle(kind)}`);
  }
  const code = view.getUint16(OBJECT_HEADER.kindOffset, true);
  if (code !== OBJECT_KINDS[kind]) {
    fail(`holds ${withArticle(kindName(code) ?? `kind ${code}`)}, not ${withArticle(kind)}`);
  }
  const found = view.getUint16(OBJECT_HEADER.versionOffset, true);
  if (found !== version) {
    fail(`holds ${withArticle(kind)} of layout version ${found}; this library reads version ${version}`);
  }
  const state = Atomics.load(new Int32Array(bytes.buffer, bytes.byteOffset + OBJECT_HEADER.stateOffset, 1), 0);
  if (state !== OBJECT_HEADER.stateReady) {
    fail(`holds ${withArticle(kind)} that is still being made (or whose maker died)`);
  }
}

/** Reads an object's placement; set by SharedObject's static block (its fields are private to it). */
let placementOf: (object: SharedObject) => Placement;

/**
 * The base of every shared object: placement, the descriptor, closing and disposing. A subclass
 * passes its placement and its descriptor's own fields, and releases what it holds in `onClose`.
 */
export abstract class SharedObject<D extends SharedObjectDescriptor = SharedObjectDescriptor> implements Disposable {
  readonly #placement: Placement;
  readonly #descriptor: D;
  #closed = false;

  /** Takes `placement`; the descriptor is `{ kind, name, offset, ...fields }`. */
  protected constructor(placement: Placement, kind: string, fields: Omit<D, "kind" | "name" | "offset">) {
    this.#placement = placement;
    this.#descriptor = Object.freeze(
      { kind, name: placement.shm.name, offset: placement.offset, ...fields } as unknown as D,
    );
  }

  /** The segment and offset. */
  protected get placement(): Placement {
    return this.#placement;
  }

  /** What another process passes to `attach`: plain JSON. */
  get descriptor(): D {
    return this.#descriptor;
  }

  /** Whether `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A TypeError for a call on a closed object. */
  protected checkOpen(): void {
    if (this.#closed) throw new TypeError(`this ${this.#descriptor.kind} is closed`);
  }

  /** Releases what the object holds besides the segment (called once, while the object is still open). */
  protected onClose(): void {}

  /** Releases this handle; closes the segment if this object opened or created it (never a borrowed one). */
  close(): void {
    if (this.#closed) return;
    try {
      this.onClose(); // while still open: it may use the object's bytes
    } finally {
      this.#closed = true;
      if (this.#placement.ownership !== "borrowed") this.#placement.shm.close();
    }
  }

  /**
   * Closes, and unlinks the segment if this object created it (through the segment's own dispose: a
   * name that handle unlinked already is not unlinked again, since it may name another segment by now).
   */
  [Symbol.dispose](): void {
    this.close();
    if (this.#placement.ownership === "created") this.#placement.shm[Symbol.dispose]();
  }

  /** The descriptor, so that `JSON.stringify(object)` hands it over. */
  toJSON(): D {
    return this.#descriptor;
  }

  static {
    placementOf = (object) => object.#placement;
  }
}

/**
 * The segment a shared object lives in, for the code that owns objects of every kind (the manager):
 * a TypeError for anything that is not a `SharedObject`.
 */
export function segmentOf(object: SharedObject): SharedMemory {
  if (!(object instanceof SharedObject)) {
    throw new TypeError(`expected a shared object (a SharedObject), got ${describe(object)}`);
  }
  return placementOf(object).shm;
}

/**
 * The idiom every shared object follows, `SharedMemory` included: a JSON `descriptor` with its `kind`
 * that `attach` takes in any process, `closed`, `close()`, `[Symbol.dispose]` and `toJSON()`.
 */
export interface SharedHandle extends Disposable {
  /** The hand-over form: plain JSON, with the object's `kind` and its segment's `name`. */
  readonly descriptor: { readonly kind: string; readonly name: string };
  /** Whether `close()` has run. */
  readonly closed: boolean;
  /** Releases this handle (safe to call twice). */
  close(): void;
  /** The descriptor, for `JSON.stringify`. */
  toJSON(): unknown;
}
