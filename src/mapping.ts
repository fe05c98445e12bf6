/**
 * A mapping's lifetime: the ArrayBuffers made over it, detaching them all before `munmap`, and giving
 * a forgotten mapping back, memory and address space, when nothing in JS can reach it any more.
 *
 * Why detach: reading an ArrayBuffer after its memory is unmapped is a segfault in both runtimes, and
 * JS cannot find the views made from a buffer. `transfer(0)` detaches the buffer itself, so every view
 * of it, however made, reads as length 0 (docs/runtime-facts.md). `transfer()` without 0 only moves the
 * memory to a new buffer and must never be used here. Both are the built-ins as they were at load
 * (`intrinsics.ts`): a program that replaces them cannot turn `close()` into a segfault.
 *
 * How a forgotten mapping is given back depends on what the runtime can do:
 *
 * - Where a buffer can carry a native deallocator (Bun's main thread, a mapping of at most 4 GiB), the
 *   mapping's one whole buffer unmaps it when that buffer dies or is detached. The buffer dies only
 *   when nothing, JS or native, holds it any more, so nothing can reach the memory after the munmap.
 * - Elsewhere (Deno, Node; Bun's Workers, see ffi/bun.ts; Bun above 4 GiB, seen through windows), a
 *   FinalizationRegistry learns that the handle, its buffers and views are unreachable from JS. A
 *   native operation the runtime still runs on another thread (Deno's async `pbkdf2`, for one) can
 *   hold the raw pointer after that, and would crash if the range were unmapped at once. So private
 *   zero pages take the segment's place at once (its memory is freed; a late native access reads
 *   zeros), and the range itself is unmapped once `UNMAP_GRACE_MS` have passed, at the next mapping
 *   this process makes (`mapShared`): the address space comes back when it is needed, with no timer. An operation that still holds a pointer into a
 *   forgotten segment that long is the one case left unsafe, exactly as `close()` under it would be.
 */
import { readFileSync } from "node:fs";
import type { Address } from "../ffi/libc.ts";
import { libc, systemCalls } from "../ffi/runtime.ts";
import { detach } from "./intrinsics.ts";

/** Each ArrayBuffer of a mapping points back to it, so the mapping lives as long as any view does. */
const OWNER = Symbol("shared-memory mapping");

/**
 * How long the range of a collected mapping stays reserved as zero pages before it is unmapped: far
 * longer than a native operation on a buffer runs, once JS can no longer reach that buffer.
 */
export const UNMAP_GRACE_MS = 5000;

/** The ranges of collected mappings, now zero pages, oldest first, with when they became so. */
const retired: { address: Address; length: number; since: number }[] = [];

/**
 * Mappings of this thread that only the registry gives back (live, or retired zero pages): these are
 * not freed by a garbage collection inside a synchronous loop, since the registry's callbacks run only
 * once the loop yields. A loop that forgets enough of them would take every mapping the kernel allows
 * the process (`vm.max_map_count`), and the runtime's own next mapping then aborts the process (Bun
 * in a Worker did, at 65,530). So `mapShared` stops at `REGISTRY_HEADROOM` short of that limit: ENOMEM,
 * a SharedMemoryError like the kernel's own, while the runtime still has mappings of its own to make.
 */
let registered = 0;
/** How many mappings the process keeps for the runtime, at least (or an eighth of the limit). */
const REGISTRY_HEADROOM = 4096;
let registryLimit: number | undefined;

/** The most registry-only mappings `mapShared` makes: `vm.max_map_count` less the headroom (Linux). */
function limitOfRegistered(): number {
  if (registryLimit !== undefined) return registryLimit;
  let max = Infinity;
  try {
    max = Number(readFileSync("/proc/sys/vm/max_map_count", "utf8").trim()) || Infinity;
  } catch { /* not Linux, or no /proc: no limit but the kernel's */ }
  return registryLimit = max - Math.max(REGISTRY_HEADROOM, Math.floor(max / 8));
}

const forgotten = new FinalizationRegistry<{ address: Address; length: number }>(({ address, length }) => {
  // If the zero pages cannot be put in (the kernel is out of mappings), the segment stays mapped: its
  // memory is then freed when the process ends, as before any of this existed.
  if (libc().replaceWithZeros(address, length) === 0) retired.push({ address, length, since: performance.now() });
});

/** Unmaps the retired ranges whose grace period has passed; returns how many it unmapped. */
function reclaimRetired(): number {
  let reclaimed = 0;
  const cutoff = performance.now() - UNMAP_GRACE_MS;
  while (retired.length > 0 && retired[0].since <= cutoff) {
    const { address, length } = retired.shift()!;
    if (libc().munmap(address, length) === 0) registered--;
    reclaimed++;
  }
  return reclaimed;
}

/**
 * Maps `length` bytes of `fd` shared: the address, or -errno. The address space of collected mappings
 * is given back first; and when the kernel answers ENOMEM (too many mappings, `vm.max_map_count`, or
 * the address-space limit, `ulimit -v`), the garbage collector runs where the runtime allows it, and
 * the call is tried once more.
 */
export function mapShared(length: number, fd: number): Address | number {
  if (retired.length > 0) reclaimRetired();
  if (registered >= limitOfRegistered()) {
    libc().collectGarbage();
    reclaimRetired();
    if (registered >= limitOfRegistered()) return -systemCalls().errnoOf("ENOMEM");
  }
  const address = libc().mmap(length, fd);
  if (address >= 0 || libc().platform.errnoCodes[-address] !== "ENOMEM") return address;
  const collected = libc().collectGarbage();
  const reclaimed = reclaimRetired();
  if (!collected && reclaimed === 0) return address;
  return libc().mmap(length, fd);
}

export class Mapping {
  readonly #address: Address;
  readonly #length: number;
  #whole: ArrayBuffer | undefined;
  /** Whether `#whole` unmaps the mapping itself (when it is detached or collected). */
  readonly #selfUnmapping: boolean;
  /** Buffers over parts of the mapping, for when the whole does not fit one ArrayBuffer (Bun, > 4 GiB). */
  #windows = new Set<WeakRef<ArrayBuffer>>();
  #released = false;

  /** Takes ownership of `length` bytes mapped at `address`. */
  constructor(address: Address, length: number) {
    this.#address = address;
    this.#length = length;
    this.#whole = this.#selfUnmappingBuffer(address, length);
    this.#selfUnmapping = this.#whole !== undefined;
    if (!this.#selfUnmapping) {
      forgotten.register(this, { address, length }, this);
      registered++;
    }
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
    if (this.#whole) detach(this.#whole); // a self-unmapping buffer unmaps the mapping here
    for (const window of this.#windows) {
      const buffer = window.deref();
      if (buffer) detach(buffer);
    }
    this.#windows.clear();
    this.#whole = undefined;
    if (this.#selfUnmapping) return 0;
    const result = libc().munmap(this.#address, this.#length);
    if (result === 0) registered--;
    return result;
  }

  /** The whole mapping as a buffer that unmaps it itself, where the runtime can make one; else undefined. */
  #selfUnmappingBuffer(address: Address, length: number): ArrayBuffer | undefined {
    const unmapping = libc().unmappingArrayBuffer;
    if (unmapping === undefined || !this.fitsOneBuffer) return undefined;
    try {
      return this.#adopt(unmapping(address, length));
    } catch {
      return undefined; // the registry below frees it instead
    }
  }

  #adopt(buffer: ArrayBuffer): ArrayBuffer {
    Object.defineProperty(buffer, OWNER, { value: this });
    return buffer;
  }

  #forgetCollectedWindows(): void {
    for (const window of this.#windows) if (window.deref() === undefined) this.#windows.delete(window);
  }
}

/** Whether `buffer` was made over a mapping by this module: its memory never moves while it is attached. */
export function isMappedBuffer(buffer: ArrayBufferLike): boolean {
  return Object.hasOwn(buffer, OWNER);
}
