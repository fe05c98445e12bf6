/** A named POSIX shared memory segment, mapped once and seen as bytes: CPython's `SharedMemory`. */
import { printAsString } from "../ffi/inspect.ts";
import { libc } from "../ffi/runtime.ts";
import { errorFromErrno, SharedMemoryError } from "./errors.ts";
import { Mapping, mapShared } from "./mapping.ts";
import { randomName } from "./names.ts";
import {
  checkCreateSize,
  checkOptions,
  checkOptionsObject,
  checkWindow,
  SHARED_MEMORY_CREATE_OPTIONS,
  type SharedMemoryCreateOptions,
  type SharedMemoryOptions,
} from "./arguments.ts";
import { readDescriptor } from "./descriptor.ts";
import { announce, created, untrack } from "./cleanup/tracking.ts";

// The options interface lives beside its checker (src/arguments.ts), so that neither file imports the other.
export type { SharedMemoryCreateOptions, SharedMemoryOptions };

/** Draws this many automatic names before giving up on collisions (each is 1 in 2^32). */
const AUTO_NAME_TRIES = 100;

/**
 * What must run before any segment is unmapped, registered by the kinds whose state outlives a call
 * (a held Mutex: glibc and the kernel keep pointers into its bytes). Each hook gets the closing handle.
 */
const beforeClose: ((shm: SharedMemory) => void)[] = [];

/** Registers `hook` to run at the start of every `SharedMemory.close()` that unmaps (not for the library's users). */
export function beforeSegmentCloses(hook: (shm: SharedMemory) => void): void {
  beforeClose.push(hook);
}

/** EINVAL is 22 on Linux and macOS alike. */
const EINVAL = 22;

/**
 * A named shared memory segment, created or attached by name, mapped read-write for the life of the handle.
 */
export class SharedMemory implements Disposable {
  readonly #name: string;
  readonly #size: number;
  readonly #created: boolean;
  readonly #mapping: Mapping;
  #unlinked = false;

  /** Creates (`{ create: true, size }`) or attaches to (`{ name }` or just the name) a segment. */
  constructor(options: SharedMemoryOptions | string) {
    const { name, create, size, mode, track: tracked, reserve } = checkOptions(options);
    if (create) {
      checkCreateSize(size);
      const opened = name === undefined
        ? createAutoNamed(mode, tracked)
        : { name, fd: createNamed(name, mode, tracked) };
      this.#name = opened.name;
      this.#size = size;
      try {
        this.#mapping = sizeAndMap(opened.fd, opened.name, size, reserve);
      } catch (error) {
        // sizeAndMap removed the segment again.
        if (tracked) untrack("shm", opened.name);
        throw error;
      }
      this.#created = true;
    } else {
      const fd = openOrThrow(name!, false, mode);
      this.#name = name!;
      this.#size = readSizeOnceSized(fd, this.#name);
      this.#mapping = mapAndClose(fd, this.#name, this.#size, false);
      this.#created = false;
    }
  }

  /** The segment's name, without the leading `/` (as CPython's `.name`). */
  get name(): string {
    return this.#name;
  }

  /** The segment's size in bytes. */
  get size(): number {
    return this.#size;
  }

  /** Whether this handle created the segment (and so owns its unlinking on dispose). */
  get created(): boolean {
    return this.#created;
  }

  /** Whether `close()` has run: every view of the segment now reads as empty. */
  get closed(): boolean {
    return this.#mapping.released;
  }

  /**
   * The whole segment as bytes, with no copy. Typed arrays over `buf.buffer` are views of the same
   * memory. After `close()` it, and every view made from it, has length 0. Throws a RangeError when the
   * segment is larger than this runtime's largest ArrayBuffer (4 GiB in Bun): use `view()` there.
   */
  get buf(): Uint8Array {
    return new Uint8Array(this.#mapping.whole());
  }

  /**
   * `length` bytes from `offset` (default: to the end), with no copy; reaches every byte of a segment
   * of any size, also where `buf` cannot. Reads as empty after `close()`.
   */
  view(offset = 0, length?: number): Uint8Array {
    const window = checkWindow(offset, length, this.#size);
    return this.#mapping.bytes(window.offset, window.length);
  }

  /**
   * Unmaps the segment from this process; every view reads as empty from now on. Safe to call twice.
   * A `Mutex` in this segment that this thread holds through this handle is released and closed first.
   */
  close(): void {
    if (!this.#mapping.released) { for (const hook of beforeClose) hook(this); }
    const result = this.#mapping.release();
    if (result < 0) throw errorFromErrno(result, "munmap", this.#name);
  }

  /**
   * Removes the segment's name so no one else can attach; the memory lives until every process has
   * closed it. Throws `SharedMemoryError` with code `ENOENT` if the name is already gone.
   */
  unlink(): void {
    const result = libc().shmUnlink(this.#name);
    const error = result < 0 ? errorFromErrno(result, "shm_unlink", this.#name) : undefined;
    // The name is gone (removed now, or already): stop tracking it. On any other failure (EACCES) the
    // segment is still there, and cleanup at exit must still try.
    if (!error || error.code === "ENOENT") {
      untrack("shm", this.#name);
      this.#unlinked = true;
    }
    if (error) throw error;
  }

  /** Closes; a handle that created the segment also unlinks it (a name already unlinked is fine). */
  [Symbol.dispose](): void {
    this.close();
    if (!this.#created || this.#unlinked) return;
    try {
      this.unlink();
    } catch (error) {
      if (!(error instanceof SharedMemoryError && error.code === "ENOENT")) throw error;
    }
  }

  /** `SharedMemory('psm_1a2b3c4d', size=4096)`, as CPython's repr; also what `console.log` prints. */
  toString(): string {
    if (!(#mapping in this)) return "SharedMemory {}"; // the prototype itself, as console.log(SharedMemory.prototype) asks
    return `SharedMemory('${this.#name}', size=${this.#size}${this.closed ? ", closed" : ""})`;
  }

  // The idiom every shared object follows (src/shared_object.ts): create, attach, descriptor, toJSON.

  /**
   * A new segment of `options.size` bytes: `new SharedMemory({ create: true, ...options })`.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@shm/shared-memory";
   *
   * using shm = SharedMemory.create({ size: 4096 });
   * shm.buf[0] = 42;
   * using other = SharedMemory.attach(shm.descriptor); // in any process: the same bytes
   * console.assert(other.buf[0] === 42);
   * ```
   */
  static create(options: SharedMemoryCreateOptions): SharedMemory {
    checkOptionsObject(options, SHARED_MEMORY_CREATE_OPTIONS, "options", "{ size: 1024 }");
    return new SharedMemory({ ...options, create: true });
  }

  /**
   * The segment a name, a descriptor (`{ kind: "shm", name }`) or that descriptor's JSON names:
   * `new SharedMemory({ name })`. A descriptor of another kind is a TypeError.
   */
  static attach(nameOrDescriptor: SharedMemoryDescriptor | string): SharedMemory {
    const { name, offset } = readDescriptor(nameOrDescriptor, "shm");
    if (offset !== 0) throw new TypeError(`a shm descriptor has no offset (a segment starts at 0), got ${offset}`);
    return new SharedMemory({ name });
  }

  /** What another process passes to `SharedMemory.attach`: `{ kind: "shm", name }`, plain JSON (frozen). */
  get descriptor(): SharedMemoryDescriptor {
    return Object.freeze({ kind: "shm", name: this.#name });
  }

  /** The descriptor, so that `JSON.stringify(shm)` hands it over. */
  toJSON(): SharedMemoryDescriptor {
    return this.descriptor;
  }
}

/** What another process needs to attach to a segment: plain JSON. */
export interface SharedMemoryDescriptor {
  /** Always `"shm"`. */
  readonly kind: "shm";
  /** The segment's name, without the leading `/`. */
  readonly name: string;
}

printAsString(SharedMemory.prototype);

function openOrThrow(name: string, create: boolean, mode: number): number {
  const fd = libc().shmOpen(name, create, mode);
  if (fd < 0) throw errorFromErrno(fd, "shm_open", name);
  return fd;
}

/**
 * Creates `name` exclusively: a descriptor. A tracked name is announced to cleanup before shm_open can
 * make it, and its identity is told right after, before it is sized (`src/cleanup/ownership.ts` says why).
 */
function createNamed(name: string, mode: number, tracked: boolean): number {
  // libc first: where it cannot load, that is the error, not a tracking failure
  const calls = libc();
  if (tracked) announce("shm", name);
  const fd = calls.shmOpen(name, true, mode);
  if (fd < 0) {
    if (tracked) untrack("shm", name);
    throw errorFromErrno(fd, "shm_open", name);
  }
  if (tracked) created("shm", name, fd);
  return fd;
}

/** Creates a segment under a fresh `psm_` name, drawing again on a collision as CPython does. */
function createAutoNamed(mode: number, tracked: boolean): { name: string; fd: number } {
  let collision: SharedMemoryError | undefined;
  for (let i = 0; i < AUTO_NAME_TRIES; i++) {
    const name = randomName();
    try {
      return { name, fd: createNamed(name, mode, tracked) };
    } catch (error) {
      if (!(error instanceof SharedMemoryError && error.code === "EEXIST")) throw error;
      collision = error;
    }
  }
  throw collision!;
}

/**
 * Sizes and maps a segment just created; on any failure the segment is removed again. With `reserve`,
 * every page is allocated now (`posix_fallocate`): a full /dev/shm is ENOSPC here, where `ftruncate`
 * alone reserves nothing and the first write to a page that cannot be had is a SIGBUS. Beyond
 * `ulimit -f` either call is EFBIG (never SIGXFSZ, see ffi/posix.ts).
 */
function sizeAndMap(fd: number, name: string, size: number, reserve: boolean): Mapping {
  const reserving = reserve ? libc().reserve : undefined;
  const sized = reserving ? reserving(fd, size) : libc().ftruncate(fd, size);
  if (sized < 0) {
    const error = errorFromErrno(sized, reserving ? "posix_fallocate" : "ftruncate", name);
    libc().close(fd);
    libc().shmUnlink(name);
    throw error;
  }
  return mapAndClose(fd, name, size, true);
}

/**
 * How long after its creation a segment of size 0 is taken for one being created (between its creator's
 * shm_open and ftruncate, microseconds apart unless the creator is descheduled): an attach waits for it
 * to be sized until it is this old. An older empty segment is refused at once.
 */
const SIZING_WINDOW_MS = 100;

/** Sleeps this thread for `ms`: a few milliseconds at most, while a segment is being created. */
function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The segment's size, from `fstat`; the descriptor is closed on failure. A segment of size 0 made in
 * the last `SIZING_WINDOW_MS` is still being created: it is read again, in waits of 1, 2, 4, ... ms,
 * until it is sized or that old, then refused with an error that says so.
 */
function readSizeOnceSized(fd: number, name: string): number {
  for (let wait = 1;; wait *= 2) {
    const now = libc().fstatIdentity(fd);
    if (typeof now === "number") {
      const error = errorFromErrno(now, "fstat", name);
      libc().close(fd);
      throw error;
    }
    if (now.size > 0) return now.size;
    const ageMs = Date.now() - Number(now.ctimeNs / 1_000_000n);
    if (ageMs >= SIZING_WINDOW_MS) {
      libc().close(fd);
      throw new SharedMemoryError(
        "EINVAL",
        EINVAL,
        "mmap",
        name,
        `shared memory segment '${name}' is empty (size 0) ${ageMs} ms after it was made: it is still being ` +
          "created, or its creator never sized it; it cannot be mapped",
      );
    }
    sleepSync(Math.min(wait, SIZING_WINDOW_MS - ageMs));
  }
}

/**
 * Maps the segment and closes the descriptor: the mapping keeps the memory, and a closed descriptor
 * cannot leak (EMFILE) however many handles a program keeps. A failed new segment is removed again.
 */
function mapAndClose(fd: number, name: string, size: number, created: boolean): Mapping {
  const address = mapShared(size, fd);
  if (address < 0) {
    const error = errorFromErrno(address, "mmap", name);
    libc().close(fd);
    if (created) libc().shmUnlink(name);
    throw error;
  }
  libc().close(fd);
  return new Mapping(address, size);
}
