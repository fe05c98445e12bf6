/**
 * A mapping's lifetime: the ArrayBuffers made over it, detaching them all before `munmap`, and
 * releasing a forgotten mapping when nothing in JS can reach it any more.
 *
 * Why detach: reading an ArrayBuffer after its memory is unmapped is a segfault in both runtimes, and
 * JS cannot find the views made from a buffer. `transfer(0)` detaches the buffer itself, so every view
 * of it, however made, reads as length 0 (runtime-ffi-facts). `transfer()` without 0 only moves the
 * memory to a new buffer and must never be used here.
 */
import type { Address } from "../ffi/libc.ts";
import { libc } from "../ffi/runtime.ts";

/** Each ArrayBuffer of a mapping points back to it, so the mapping lives as long as any view does. */
const OWNER = Symbol("shared-memory mapping");

/**
 * Releases a mapping that was never released once no handle, buffer or view can reach it from JS.
 * Not with munmap: a native operation the runtime still runs on another thread (Deno's async
 * `pbkdf2`, for one) can hold the raw pointer after JS has dropped every buffer, and would crash.
 * Private zero pages take the segment's place instead: its memory is freed all the same, a late
 * native access reads zeros, and only the address range (no memory) stays reserved.
 */
const forgotten = new FinalizationRegistry<{ address: Address; length: number }>(({ address, length }) => {
  libc().replaceWithZeros(address, length);
});

export class Mapping {
  readonly #address: Address;
  readonly #length: number;
  #whole: ArrayBuffer | undefined;
  /** Buffers over parts of the mapping, for when the whole does not fit one ArrayBuffer (Bun, > 4 GiB). */
  #windows = new Set<WeakRef<ArrayBuffer>>();
  #released = false;

  /** Takes ownership of `length` bytes mapped at `address`. */
  constructor(address: Address, length: number) {
    this.#address = address;
    this.#length = length;
    forgotten.register(this, { address, length }, this);
  }

  /** True once `release()` ran. */
  get released(): boolean {
    return this.#released;
  }

  /** Whether one ArrayBuffer can hold the whole mapping in this runtime. */
  get fitsOneBuffer(): boolean {
    return this.#length <= libc().maxArrayBufferBytes;
  }

  /** One ArrayBuffer over the whole mapping, made on first use; detached (length 0) after release. */
  whole(): ArrayBuffer {
    if (this.#whole) return this.#whole;
    if (this.#released) return new ArrayBuffer(0);
    if (!this.fitsOneBuffer) {
      throw new RangeError(
        `the segment is ${this.#length} bytes, larger than this runtime's largest ArrayBuffer (${libc().maxArrayBufferBytes} bytes): use view(offset, length) for windows of it`,
      );
    }
    return this.#whole = this.#adopt(libc().arrayBuffer(this.#address, 0, this.#length));
  }

  /** `length` bytes from `offset` (already checked against the mapping), no copy. */
  bytes(offset: number, length: number): Uint8Array {
    if (this.#released) return new Uint8Array(0);
    if (this.fitsOneBuffer) return new Uint8Array(this.whole(), offset, length);
    // Bun refuses to make an ArrayBuffer of length 0 over a pointer.
    if (length === 0) return new Uint8Array(0);
    if (length > libc().maxArrayBufferBytes) {
      throw new RangeError(
        `a view of ${length} bytes is larger than this runtime's largest ArrayBuffer (${libc().maxArrayBufferBytes} bytes)`,
      );
    }
    const buffer = this.#adopt(libc().arrayBuffer(this.#address, offset, length));
    this.#forgetCollectedWindows();
    this.#windows.add(new WeakRef(buffer));
    return new Uint8Array(buffer);
  }

  /** Detaches every buffer made over the mapping, then unmaps it: 0, or -errno from munmap. */
  release(): number {
    if (this.#released) return 0;
    this.#released = true;
    forgotten.unregister(this);
    detach(this.#whole);
    for (const window of this.#windows) detach(window.deref());
    this.#windows.clear();
    this.#whole = undefined;
    return libc().munmap(this.#address, this.#length);
  }

  #adopt(buffer: ArrayBuffer): ArrayBuffer {
    Object.defineProperty(buffer, OWNER, { value: this });
    return buffer;
  }

  #forgetCollectedWindows(): void {
    for (const window of this.#windows) if (window.deref() === undefined) this.#windows.delete(window);
  }
}

/** Detaches `buffer` unless it is already detached (a caller may have detached it first). */
function detach(buffer: ArrayBuffer | undefined): void {
  const detachable = buffer as (ArrayBuffer & { detached: boolean; transfer(length: number): ArrayBuffer }) | undefined;
  if (detachable && !detachable.detached) detachable.transfer(0);
}

/** Whether `buffer` was made over a mapping by this module: its memory never moves while it is attached. */
export function isMappedBuffer(buffer: ArrayBufferLike): boolean {
  return Object.hasOwn(buffer, OWNER);
}
