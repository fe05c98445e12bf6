/**
 * Waiting off the event loop with no thread at all (Linux 6.7+): the kernel itself waits on the words,
 * through io_uring's `IORING_OP_FUTEX_WAITV`, hard-linked to a one-byte `IORING_OP_WRITE` to a pipe whose
 * read end the event loop watches (`RawUring.watch`: Bun reads it as a stream, Node as a `net.Socket`).
 *
 * Why: a Worker blocked in `futex_waitv` that relays by `postMessage` costs three context switches per
 * wake-up on one CPU (the re-arm wakes the Worker, the Worker wakes the event loop); here there is one,
 * the kernel's wake of the event loop's thread (io_uring posts the completion from task work on the thread
 * that submitted it, interrupting its `epoll_wait`). Measured here with two processes pinned to one CPU,
 * an async round trip: Bun 21-25 us by Worker, 10-12.5 us by the ring; Node 45 us, 12-14 us.
 *
 * One ring per thread (JS realm) serves every group of waiters (`OffLoopWaiter`, up to 127 words each, as
 * `futex_waitv` takes): one `futex_waitv` request in flight per group, its words plus the group's private
 * control word, which `interrupt()` bumps and wakes so that the request completes. A request's completion
 * (`user_data`: the group's number) names the word woken, the control word, or -EAGAIN when a word
 * differed; the byte written after it only wakes the event loop, which then reads every completion.
 * While no request is in flight the pipe is not watched (`unref`), so the process may end.
 *
 * `uringOffLoop` returns undefined where the ring cannot be had (io_uring refused: ENOSYS, EPERM with
 * /proc/sys/kernel/io_uring_disabled, a seccomp filter; a kernel before 6.7 without the futex opcodes):
 * the caller keeps the thread it waited with before (`wait.ts`).
 */
import type { Address } from "./libc.ts";
import type { LinuxSync } from "./platforms.ts";
import { type OffLoopWaiter, writeWaitv } from "./wait.ts";

/** What a runtime binding provides for the ring (`bun.ts`, `node.ts`). Results `< 0` are -1 with errno set. */
export interface RawUring {
  /** `syscall(SYS_io_uring_setup, unsigned entries, struct io_uring_params *p)`: the ring's descriptor */
  setup(entries: number, params: Uint8Array): number;
  /** `syscall(SYS_io_uring_enter, int fd, unsigned to_submit, unsigned min_complete, unsigned flags, NULL, 0)` */
  enter(fd: number, toSubmit: number, minComplete: number, flags: number): number;
  /** `mmap(NULL, length, prot, flags, fd, offset)`: the address, or -1 (MAP_FAILED) */
  mmap(length: number, prot: number, flags: number, fd: number, offset: number): Address;
  /** `munmap(address, length)`, `close(fd)`, `pipe2(fds, flags)` */
  munmap(address: Address, length: number): number;
  close(fd: number): number;
  pipe2(fds: Int32Array, flags: number): number;
  /** An ArrayBuffer over `length` bytes at `address` (no copy, never freed by the collector). */
  arrayBuffer(address: Address, length: number): ArrayBuffer;
  /** The event loop watching `fd` (a pipe's non-blocking read end): `onReadable` after bytes came (read and
   * dropped). Not watched until `ref()`; `unref()` stops watching (soon), so that the process may end. */
  watch(fd: number, onReadable: () => void): { ref(): void; unref(): void };
}

/** `SYS_io_uring_setup`, `SYS_io_uring_enter`: the same number on every Linux CPU (<asm-generic/unistd.h>). */
export const URING_SYSCALLS = { setup: 425, enter: 426 } as const;

/** <linux/io_uring.h>, <linux/mman.h>, <asm-generic/fcntl.h>: the same on x86-64 and arm64. */
const URING = {
  IORING_OP_WRITE: 23,
  IORING_OP_FUTEX_WAITV: 53,
  /** sqe.flags: the next request runs even when this one fails (a word that differed: -EAGAIN). */
  IOSQE_IO_HARDLINK: 1 << 3,
  /** sqe.flags: no completion unless it failed (the doorbell's write). */
  IOSQE_CQE_SKIP_SUCCESS: 1 << 6,
  IORING_ENTER_GETEVENTS: 1,
  /** sq ring flags: completions wait in the kernel's overflow list (the ring was full): enter flushes them. */
  IORING_SQ_CQ_OVERFLOW: 1 << 1,
  /** params.features: the SQ and CQ rings are one mapping. */
  IORING_FEAT_SINGLE_MMAP: 1,
  IORING_OFF_SQES: 0x10000000,
  PROT_READ_WRITE: 0x1 | 0x2,
  MAP_SHARED_POPULATE: 0x01 | 0x8000,
  O_NONBLOCK: 0o4000,
  O_CLOEXEC: 0o2000000,
  EAGAIN: 11,
  EINTR: 4,
  EFAULT: 14,
  ECANCELED: 125,
} as const;

/**
 * `struct io_uring_params` (120 bytes), the offsets read back here (u32 each):
 * ```
 * 0 sq_entries | 4 cq_entries | 8 flags | ... | 20 features | ...
 * 40 sq_off: head, tail, ring_mask, ring_entries, flags, dropped, array, resv1, user_addr u64
 * 80 cq_off: head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1, user_addr u64
 * ```
 */
const PARAMS = { bytes: 120, sqEntries: 0, cqEntries: 1, features: 5, sqOff: 10, cqOff: 20 } as const;

/** `struct io_uring_sqe`, 64 bytes, in u32 slots: opcode u8 | flags u8 | ioprio u16 (slot 0), fd (1), off (2-3),
 * addr (4-5), len (6), op flags (7), user_data (8-9), the rest 0. `struct io_uring_cqe`: user_data u64, res s32,
 * flags u32 (16 bytes). */
const SQE_WORDS = 16;
const CQE_WORDS = 4;

/** Submission entries: two per request (the wait, the doorbell), consumed at each submit. */
const RING_ENTRIES = 64;

/** `struct futex_waitv` bytes (wait.ts). */
const WAITV_BYTES = 24;

/** One ring and its doorbell pipe, shared by every group of this thread. */
class Ring {
  readonly #raw: RawUring;
  readonly #fd: number;
  readonly #ring: Uint32Array;
  readonly #cqes: Int32Array;
  readonly #sqes: Uint32Array;
  readonly #sq: { head: number; tail: number; mask: number; flags: number; array: number };
  readonly #cq: { head: number; tail: number; mask: number; cqes: number };
  readonly #doorbellFd: number;
  /** One byte the doorbell writes, in memory that never moves (the kernel reads it later). */
  readonly #byteAddress: Address;
  readonly #watch: { ref(): void; unref(): void };
  #sqTail = 0;
  #inFlight = 0;
  readonly #groups = new Map<number, UringWaiter>();
  #broken: Error | undefined;

  constructor(
    raw: RawUring,
    fd: number,
    params: Uint32Array,
    mapped: { ring: Address; ringBytes: number; sqes: Address },
    pipe: Int32Array,
    byteAddress: Address,
  ) {
    this.#raw = raw;
    this.#fd = fd;
    const sqOff = params.subarray(PARAMS.sqOff, PARAMS.sqOff + 10);
    const cqOff = params.subarray(PARAMS.cqOff, PARAMS.cqOff + 10);
    const ring = raw.arrayBuffer(mapped.ring, mapped.ringBytes);
    this.#ring = new Uint32Array(ring);
    this.#cqes = new Int32Array(ring);
    this.#sqes = new Uint32Array(raw.arrayBuffer(mapped.sqes, params[PARAMS.sqEntries] * SQE_WORDS * 4));
    this.#sq = {
      head: sqOff[0] / 4,
      tail: sqOff[1] / 4,
      mask: this.#ring[sqOff[2] / 4],
      flags: sqOff[4] / 4,
      array: sqOff[6] / 4,
    };
    this.#cq = { head: cqOff[0] / 4, tail: cqOff[1] / 4, mask: this.#ring[cqOff[2] / 4], cqes: cqOff[5] / 4 };
    this.#sqTail = this.#ring[this.#sq.tail];
    this.#doorbellFd = pipe[1];
    this.#byteAddress = byteAddress;
    this.#watch = raw.watch(pipe[0], () => this.reap());
  }

  add(group: UringWaiter): number {
    const id = this.#groups.size + 1;
    this.#groups.set(id, group);
    return id;
  }

  /** One `futex_waitv` of `count` entries at `waitv`, then the doorbell; in the kernel when this returns. */
  submit(id: number, waitv: Address, count: number): void {
    if (this.#broken) throw this.#broken;
    this.#put(URING.IORING_OP_FUTEX_WAITV, URING.IOSQE_IO_HARDLINK, 0, waitv, count, id);
    this.#put(URING.IORING_OP_WRITE, URING.IOSQE_CQE_SKIP_SUCCESS, this.#doorbellFd, this.#byteAddress, 1, 0);
    Atomics.store(this.#ring, this.#sq.tail, this.#sqTail);
    const submitted = this.#raw.enter(this.#fd, 2, 0, 0);
    if (submitted !== 2) {
      // The entries may stay half taken: this ring is done with, and its waiters hear why (none hangs).
      this.#broken = new Error(`io_uring_enter submitted ${submitted} of 2 requests`);
      throw this.#broken;
    }
    if (this.#inFlight++ === 0) this.#watch.ref();
  }

  /** A probe: a wait on `control` with the wrong value must complete at once with -EAGAIN (not -EINVAL: an
   * older kernel without the opcode). */
  probe(waitv: Address): boolean {
    this.#put(URING.IORING_OP_FUTEX_WAITV, 0, 0, waitv, 1, 0);
    Atomics.store(this.#ring, this.#sq.tail, this.#sqTail);
    if (this.#raw.enter(this.#fd, 1, 1, URING.IORING_ENTER_GETEVENTS) !== 1) return false;
    let answer = 0;
    this.#completions((_, res) => answer = res);
    return answer === -URING.EAGAIN;
  }

  #put(opcode: number, flags: number, fd: number, address: Address, length: number, userData: number): void {
    const index = this.#sqTail & this.#sq.mask;
    const at = index * SQE_WORDS;
    const sqes = this.#sqes;
    sqes.fill(0, at, at + SQE_WORDS);
    sqes[at] = opcode | (flags << 8);
    sqes[at + 1] = fd;
    if (opcode === URING.IORING_OP_WRITE) sqes[at + 2] = sqes[at + 3] = 0xffffffff; // off -1: a pipe has no offset
    sqes[at + 4] = address % 0x1_0000_0000;
    sqes[at + 5] = Math.floor(address / 0x1_0000_0000);
    sqes[at + 6] = length;
    sqes[at + 8] = userData;
    this.#ring[this.#sq.array + index] = index;
    this.#sqTail = (this.#sqTail + 1) >>> 0;
  }

  /** Every completion posted, in order; then the ring's head moves past them. More than the queue holds
   * (128: over 128 groups completing at once) wait in the kernel's overflow list, flushed into the queue
   * only once it has room: so again after each pass, until none is left there (their doorbell bytes may
   * all have been read already: one left there would be a wait that never wakes). */
  #completions(each: (userData: number, res: number) => void): void {
    const ring = this.#ring;
    for (;;) {
      let head = ring[this.#cq.head];
      const tail = Atomics.load(ring, this.#cq.tail);
      for (; head !== tail; head = (head + 1) >>> 0) {
        const at = this.#cq.cqes + (head & this.#cq.mask) * CQE_WORDS;
        each(ring[at], this.#cqes[at + 2]);
      }
      Atomics.store(ring, this.#cq.head, head);
      if (!(Atomics.load(ring, this.#sq.flags) & URING.IORING_SQ_CQ_OVERFLOW)) return;
      this.#raw.enter(this.#fd, 0, 0, URING.IORING_ENTER_GETEVENTS);
    }
  }

  /** The doorbell rang (or may have): hands each group its completion. */
  reap(): void {
    this.#completions((userData, res) => {
      const group = this.#groups.get(userData);
      if (!group) return; // a failed doorbell (user_data 0): the next completion rings again
      if (--this.#inFlight === 0) this.#watch.unref();
      group.completed(res);
    });
  }
}

/** One group's view of the ring: the `OffLoopWaiter` of `wait.ts`. */
class UringWaiter implements OffLoopWaiter {
  readonly via = "ring";
  readonly capacity: number;
  readonly #ring: Ring;
  readonly #sync: LinuxSync;
  readonly #futex: (address: Address, op: number, value: number) => number;
  readonly #id: number;
  /** The `struct futex_waitv` array (read by the kernel at submit) and, 64 bytes past it, the control word. */
  readonly #words: Uint32Array;
  readonly #waitvAddress: Address;
  readonly #control: Int32Array;
  readonly #controlAddress: Address;
  #pending: { count: number; resolve: (index: number) => void; reject: (error: Error) => void } | undefined;

  constructor(
    ring: Ring,
    sync: LinuxSync,
    futex: (address: Address, op: number, value: number) => number,
    memory: { bytes: SharedArrayBuffer; address: Address },
  ) {
    this.#ring = ring;
    this.#sync = sync;
    this.#futex = futex;
    this.capacity = sync.FUTEX_WAITV_MAX - 1;
    const waitvBytes = sync.FUTEX_WAITV_MAX * WAITV_BYTES;
    this.#words = new Uint32Array(memory.bytes, 0, waitvBytes / 4);
    this.#waitvAddress = memory.address;
    this.#control = new Int32Array(memory.bytes, waitvBytes, 1);
    this.#controlAddress = memory.address + waitvBytes;
    this.#id = ring.add(this);
  }

  wait(addresses: readonly Address[], expected: readonly number[]): Promise<number> {
    if (this.#pending) throw new Error("one wait at a time"); // the Group waits for the last to end
    const control = { address: this.#controlAddress, expected: Atomics.load(this.#control, 0) };
    writeWaitv(this.#words, this.#sync, addresses, expected, control);
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    this.#pending = { count: addresses.length, resolve, reject };
    try {
      this.#ring.submit(this.#id, this.#waitvAddress, addresses.length + 1);
    } catch (error) {
      this.#pending = undefined;
      return Promise.reject(error);
    }
    return promise;
  }

  interrupt(): void {
    if (!this.#pending) return;
    Atomics.add(this.#control, 0, 1);
    this.#futex(this.#controlAddress, this.#sync.FUTEX_WAKE | this.#sync.FUTEX_PRIVATE_FLAG, 0x7fffffff);
  }

  /** The request's completion: the index of the word woken, the control word's, or -errno. */
  completed(res: number): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    if (res >= 0) pending.resolve(res < pending.count ? res : -1);
    // A word differed (EAGAIN), or a segment was unmapped under it (EFAULT): the caller reads the words again.
    else if (res === -URING.EAGAIN || res === -URING.EFAULT || res === -URING.EINTR || res === -URING.ECANCELED) {
      pending.resolve(-1);
    } else pending.reject(new Error(`io_uring futex_waitv failed: errno ${-res}`));
  }
}

/** The ring of this thread for each binding (one in practice), made on first use; null once it could not be had. */
const rings = new WeakMap<RawUring, Ring | null>();

/** Sets the ring up, or returns null (and frees what it took) where io_uring or its futex opcode is refused. */
function setUp(raw: RawUring, sync: LinuxSync, addressOf: (buffer: ArrayBufferLike) => Address): Ring | null {
  const paramBytes = new Uint8Array(PARAMS.bytes);
  const fd = raw.setup(RING_ENTRIES, paramBytes);
  if (fd < 0) return null;
  const params = new Uint32Array(paramBytes.buffer);
  const taken: (() => void)[] = [() => raw.close(fd)];
  const release = () => {
    for (const free of taken.reverse()) free();
    return null;
  };
  try {
    return mapped(raw, fd, params, sync, addressOf, taken) ?? release();
  } catch {
    return release(); // whatever went wrong, the thread of before still works
  }
}

/** The mappings, the pipe and the probe of `setUp`; each thing taken is pushed on `taken`. */
function mapped(
  raw: RawUring,
  fd: number,
  params: Uint32Array,
  sync: LinuxSync,
  addressOf: (buffer: ArrayBufferLike) => Address,
  taken: (() => void)[],
): Ring | null {
  if (!(params[PARAMS.features] & URING.IORING_FEAT_SINGLE_MMAP)) return null;
  const sqOff = PARAMS.sqOff, cqOff = PARAMS.cqOff;
  const ringBytes = Math.max(
    params[sqOff + 6] + params[PARAMS.sqEntries] * 4,
    params[cqOff + 5] + params[PARAMS.cqEntries] * CQE_WORDS * 4,
  );
  const sqesBytes = params[PARAMS.sqEntries] * SQE_WORDS * 4;
  const ring = raw.mmap(ringBytes, URING.PROT_READ_WRITE, URING.MAP_SHARED_POPULATE, fd, 0);
  if (ring < 0) return null;
  taken.push(() => raw.munmap(ring, ringBytes));
  const sqes = raw.mmap(sqesBytes, URING.PROT_READ_WRITE, URING.MAP_SHARED_POPULATE, fd, URING.IORING_OFF_SQES);
  if (sqes < 0) return null;
  taken.push(() => raw.munmap(sqes, sqesBytes));
  const pipe = new Int32Array(2);
  if (raw.pipe2(pipe, URING.O_NONBLOCK | URING.O_CLOEXEC) < 0) return null;
  taken.push(() => (raw.close(pipe[0]), raw.close(pipe[1])));
  // The doorbell's byte and the probe's word, in memory that never moves.
  const scratch = new SharedArrayBuffer(64);
  const scratchAddress = addressOf(scratch);
  const made = new Ring(raw, fd, params, { ring, ringBytes, sqes }, pipe, scratchAddress);
  const probe = new Uint32Array(scratch, 8, 6);
  writeWaitv(probe, sync, [], [], { address: scratchAddress, expected: 1 }); // the word holds 0
  return made.probe(scratchAddress + 8) ? made : null;
}

/** A new group's waiter on this thread's ring, or undefined where there is none (the caller keeps its thread). */
export function uringOffLoop(
  raw: RawUring | undefined,
  sync: LinuxSync,
  futex: (address: Address, op: number, value: number) => number,
  addressOf: (buffer: ArrayBufferLike) => Address,
): OffLoopWaiter | undefined {
  if (!raw) return undefined;
  let ring = rings.get(raw);
  if (ring === undefined) rings.set(raw, ring = setUp(raw, sync, addressOf));
  if (ring === null) return undefined;
  const bytes = new SharedArrayBuffer(sync.FUTEX_WAITV_MAX * WAITV_BYTES + 64);
  return new UringWaiter(ring, sync, futex, { bytes, address: addressOf(bytes) });
}
