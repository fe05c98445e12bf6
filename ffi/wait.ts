/**
 * Waiting and waking across processes (issue 14), in two layers as in `libc.ts`.
 *
 * `RawWait` is what a runtime binding (`deno.ts`, `bun.ts`) provides: the futex system call, the
 * process-shared robust `pthread_mutex_t` calls, and a blocking `futex_waitv`. Above it, with the
 * platform's constants applied once, `WaitCalls`: what `src/sync/` sees. Every result `< 0` is `-errno`
 * (pthread calls return their error number, made negative here).
 *
 * Waiting off the event loop (`OffLoopWaiter`) is the one place that differs by runtime:
 * - Deno runs a `nonblocking: true` `futex_waitv` on its pool of threads and gets a Promise;
 * - Bun and Node.js have no `nonblocking`: where io_uring waits on futexes (Linux 6.7+) the kernel waits
 *   and rings the event loop through a pipe (`uring.ts`, no thread); elsewhere a Worker blocks in
 *   `futex_waitv` and relays each wake-up by `postMessage` (`wait_thread.ts`, run by `wait_worker.ts`; Node
 *   starts its own kind of thread, `WaitThreadStarter`).
 * Either way ONE blocked thread waits on up to 127 words at once, plus a private control word that
 * this process bumps to change the set: 1,000 pending waits need no thousand threads.
 */
import type { Address } from "./libc.ts";
import type { LinuxSync } from "./platforms.ts";

/** The calls, as a runtime binding declares them. Addresses are plain numbers. */
export interface RawWait {
  /** `long syscall(SYS_futex, uint32_t *uaddr, int op, uint32_t val, const struct timespec *timeout, 0, 0)` */
  futex(address: Address, op: number, value: number, timeout: BigInt64Array | null): number;
  /**
   * `long syscall(SYS_futex_waitv, struct futex_waitv *waiters, unsigned nr, 0, deadline, CLOCK_MONOTONIC)`,
   * blocking the calling thread until `deadline` (absolute, CLOCK_MONOTONIC; none when omitted): the index
   * of the word woken, or -1 (errno: EAGAIN a value differed, ETIMEDOUT, EINTR).
   */
  waitv(waiters: Uint8Array, count: number, deadline?: BigInt64Array | null): number;
  /**
   * `int syscall(SYS_membarrier, int cmd, unsigned flags, int cpu_id)`, through the futex's `syscall`
   * symbol (its integer arguments go in the same registers): QUERY's mask, 0, or -1 (errno).
   */
  membarrier(command: number): number;
  /** The same on another thread, the event loop running meanwhile (Deno); undefined where the runtime cannot. */
  readonly waitvNonblocking: ((waiters: Uint8Array, count: number) => Promise<number>) | undefined;
  /** `int pthread_mutexattr_init(pthread_mutexattr_t *attr)`, and the setters: each 0 or an error number. */
  mutexattr_init(attr: Uint8Array): number;
  mutexattr_settype(attr: Uint8Array, type: number): number;
  mutexattr_setpshared(attr: Uint8Array, shared: number): number;
  mutexattr_setrobust(attr: Uint8Array, robust: number): number;
  /** `int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attr)` */
  mutex_init(mutex: Uint8Array, attr: Uint8Array): number;
  /** `int pthread_mutex_lock(pthread_mutex_t *)`, `_trylock`, `_unlock`, `_consistent`: 0 or an error number. */
  mutex_lock(mutex: Uint8Array): number;
  mutex_trylock(mutex: Uint8Array): number;
  mutex_unlock(mutex: Uint8Array): number;
  mutex_consistent(mutex: Uint8Array): number;
  /** `int pthread_mutex_clocklock(pthread_mutex_t *, clockid_t, const struct timespec *abstime)` */
  mutex_clocklock(mutex: Uint8Array, clock: number, abstime: BigInt64Array): number;
  /** `int clock_gettime(clockid_t, struct timespec *)` */
  clock_gettime(clock: number, time: BigInt64Array): number;
  /** `int sched_getaffinity(pid_t pid, size_t cpusetsize, cpu_set_t *mask)` */
  sched_getaffinity(pid: number, size: number, mask: Uint8Array): number;
  /** `int sched_getcpu(void)`: glibc reads it through the vDSO's getcpu, no system call (tens of ns) */
  sched_getcpu(): number;
  /** `pid_t getpid(void)` */
  getpid(): number;
  /** `int kill(pid_t pid, int sig)` */
  kill(pid: number, signal: number): number;
  /** The calling thread's errno. */
  errno(): number;
  /** The address of `buffer`'s first byte (a mapping's buffers never move). */
  addressOf(buffer: ArrayBufferLike): Address;
}

/** One thread, not the event loop's, that blocks on a set of words for this process. */
export interface OffLoopWaiter {
  /** What waits: Deno's pool of threads, the kernel through io_uring (`uring.ts`), or a thread of ours. */
  readonly via: "pool" | "ring" | "thread";
  /** The most words one `wait` takes. */
  readonly capacity: number;
  /**
   * Blocks that thread until the word at some `addresses[i]` is woken while it holds `expected[i]`, or a
   * word differs from its expected value, or `interrupt()` runs. Resolves to `i`, or -1 when it ended
   * otherwise: the caller then reads the words again. One wait at a time; a new one interrupts the last.
   */
  wait(addresses: readonly Address[], expected: readonly number[]): Promise<number>;
  /** Ends the pending wait soon (it resolves -1), so that the thread holds nothing and the process can exit. */
  interrupt(): void;
}

/** How a sync wait ended. */
export type WaitResult = "ok" | "not-equal" | "timed-out";

/** What `src/sync/` sees. */
export interface WaitCalls {
  /** How many CPUs this process may run on (its affinity mask): spinning only pays with more than one. */
  usableCpus(): number;
  /** The CPU the calling thread runs on now (it may move at any time after), or -1 when unknown. */
  currentCpu(): number;
  /** This process's id. */
  readonly pid: number;
  /** Whether process `pid` exists (`kill(pid, 0)`). */
  alive(pid: number): boolean;
  /** The address of `buffer`'s first byte. */
  addressOf(buffer: ArrayBufferLike): Address;
  /** Sleeps while the 32-bit word at `address` holds `expected`, at most `timeoutMs` (Infinity: no limit). */
  wait(address: Address, expected: number, timeoutMs: number): WaitResult;
  /** Wakes up to `count` sleepers on the word at `address`, in any process: how many woke. */
  wake(address: Address, count: number): number;
  /** A new thread to wait on, off the event loop. */
  offLoop(): OffLoopWaiter;
  /** The process-shared, robust, error-checking mutex. */
  readonly mutex: MutexCalls;
  /** The asymmetric fence of the channel's wake-ups (src/sync/fence.ts). */
  readonly fence: FenceCalls;
}

/**
 * Linux's membarrier (MEMBARRIER_CMD_GLOBAL_EXPEDITED): a full memory barrier run on every CPU that runs a
 * process which registered, at the moment of the call. Both are false, and make no call, on a machine
 * that does not keep stores in order (`LinuxSync.storesInOrder`), and false where the kernel has no such
 * command (before 4.16) or refuses it (a seccomp filter).
 */
export interface FenceCalls {
  /** Registers this process (once is enough; again is a no-op): whether others' `fenceOthers()` now reach it. */
  register(): boolean;
  /** The barrier, on every CPU running a registered process, and on this thread: whether it ran. */
  fenceOthers(): boolean;
}

/** A `pthread_mutex_t`, passed as its bytes (a view of the segment: Bun and Node take the typed array as
 * the pointer, Deno's binding makes its pointer once per view, `mutexPointer` in `deno.ts`). Results: 0, or
 * -errno (`-EOWNERDEAD`: locked, and its owner died). */
export interface MutexCalls {
  /** Bytes it takes, and whether a dead owner's lock passes on (false on macOS). */
  readonly size: number;
  readonly robust: boolean;
  /** The error numbers its calls return, by name. */
  readonly errors: Readonly<
    Record<"EOWNERDEAD" | "ENOTRECOVERABLE" | "EDEADLK" | "ETIMEDOUT" | "EBUSY" | "EPERM", number>
  >;
  init(mutex: Uint8Array): number;
  /** Waits at most `timeoutMs` (Infinity: no limit). */
  lock(mutex: Uint8Array, timeoutMs: number): number;
  tryLock(mutex: Uint8Array): number;
  unlock(mutex: Uint8Array): number;
  consistent(mutex: Uint8Array): number;
  /** The lock word's bits (Linux): the kernel wakes a sleeper on it when the owner dies. */
  readonly lockWord: { readonly waiters: number; readonly ownerDied: number; readonly tidMask: number } | undefined;
}

/** `struct futex_waitv` (<linux/futex.h>), 24 bytes each:
 * ```
 * 0        8          16      20         24
 * | val u64 | uaddr u64 | flags | reserved |
 * ```
 */
const WAITV_BYTES = 24;

/** One `struct futex_waitv` into `words` (32-bit slots of the array) at entry `i`. */
function putWaitv(words: Uint32Array, i: number, address: Address, value: number, flags: number): void {
  const at = i * (WAITV_BYTES / 4);
  words[at] = value >>> 0; // val: the expected value, zero-extended
  words[at + 1] = 0;
  words[at + 2] = address % 0x1_0000_0000; // uaddr, little-endian
  words[at + 3] = Math.floor(address / 0x1_0000_0000);
  words[at + 4] = flags;
  words[at + 5] = 0; // __reserved
}

/** Writes the words to wait on into `words`, the control word last (32-bit halves, not BigInt: this runs
 * for every async wait). `words` must hold `addresses.length + 1` entries. */
export function writeWaitv(
  words: Uint32Array,
  sync: LinuxSync,
  addresses: readonly Address[],
  expected: readonly number[],
  control: { address: Address; expected: number },
): void {
  for (let i = 0; i < addresses.length; i++) putWaitv(words, i, addresses[i], expected[i], sync.FUTEX2_SIZE_U32);
  putWaitv(words, addresses.length, control.address, control.expected, sync.FUTEX2_SIZE_U32 | sync.FUTEX2_PRIVATE);
}

/** The same into a new buffer. */
export function encodeWaitv(
  sync: LinuxSync,
  addresses: readonly Address[],
  expected: readonly number[],
  control: { address: Address; expected: number },
): Uint8Array {
  const bytes = new Uint8Array((addresses.length + 1) * WAITV_BYTES);
  writeWaitv(new Uint32Array(bytes.buffer), sync, addresses, expected, control);
  return bytes;
}

/**
 * A `struct timespec` (two int64: seconds, nanoseconds) kept in a BigInt64Array for the FFI, written and
 * read through its 32-bit halves (little-endian, as Linux on x86-64 and arm64 is): numbers, no BigInt on
 * a timed wait.
 */
class Timespec {
  readonly bytes = new BigInt64Array(2);
  readonly #halves = new Uint32Array(this.bytes.buffer);

  /** Sets it to `us` microseconds (>= 0). */
  set(us: number): void {
    const seconds = Math.floor(us / 1e6);
    const h = this.#halves;
    h[0] = seconds % 0x1_0000_0000;
    h[1] = Math.floor(seconds / 0x1_0000_0000);
    h[2] = Math.floor((us - seconds * 1e6) * 1000);
    h[3] = 0;
  }

  /** Its value in microseconds. */
  get us(): number {
    const h = this.#halves;
    return (h[0] + h[1] * 0x1_0000_0000) * 1e6 + h[2] / 1000;
  }
}

/** Applies `sync` to `raw`. */
export function linuxWaitCalls(raw: RawWait, sync: LinuxSync, offLoop: () => OffLoopWaiter): WaitCalls {
  const timeout = new Timespec();
  const now = new Timespec();
  const monotonicUs = (): number => {
    raw.clock_gettime(sync.CLOCK_MONOTONIC, now.bytes);
    return now.us;
  };
  const { FUTEX_WAIT, EAGAIN, EINTR, ETIMEDOUT } = sync;
  const mask = new Uint8Array(128);
  const attr = new Uint8Array(Math.max(sync.mutexAttrSize, 16));
  const errno = () => -raw.errno();
  // what the kernel offers, asked once, when first needed
  let fences: boolean | undefined;
  const canFence = () => {
    if (fences === undefined) {
      const commands = sync.storesInOrder ? raw.membarrier(sync.MEMBARRIER_CMD_QUERY) : 0;
      fences = commands > 0 && (commands & sync.MEMBARRIER_CMD_GLOBAL_EXPEDITED) !== 0;
    }
    return fences;
  };
  return {
    usableCpus() {
      if (raw.sched_getaffinity(0, mask.length, mask) < 0) return 1;
      let count = 0;
      for (const byte of mask) for (let bits = byte; bits; bits &= bits - 1) count++;
      return count;
    },
    currentCpu: () => raw.sched_getcpu(),
    pid: raw.getpid(),
    alive: (pid) => raw.kill(pid, 0) === 0 || raw.errno() === sync.EPERM,
    addressOf: (buffer) => raw.addressOf(buffer),
    wait(address, expected, timeoutMs) {
      if (timeoutMs === Infinity) {
        for (;;) {
          if (raw.futex(address, FUTEX_WAIT, expected, null) === 0) return "ok";
          const error = raw.errno();
          if (error === EAGAIN) return "not-equal";
          if (error !== EINTR) throw new Error(`futex wait failed: errno ${error}`);
        }
      }
      // The limit is relative, so the first try needs no arithmetic; the clock is read once, for a retry
      // after a signal (EINTR), which waits only for what is left.
      const limitUs = Math.ceil(timeoutMs * 1000);
      const deadline = monotonicUs() + limitUs;
      timeout.set(limitUs);
      for (;;) {
        if (raw.futex(address, FUTEX_WAIT, expected, timeout.bytes) === 0) return "ok";
        const error = raw.errno();
        if (error === EAGAIN) return "not-equal";
        if (error === ETIMEDOUT) return "timed-out";
        if (error !== EINTR) throw new Error(`futex wait failed: errno ${error}`);
        const left = deadline - monotonicUs();
        if (left <= 0) return "timed-out";
        timeout.set(left);
      }
    },
    wake: (address, count) => {
      const woken = raw.futex(address, sync.FUTEX_WAKE, count, null);
      return woken < 0 ? errno() : woken;
    },
    offLoop,
    mutex: {
      size: sync.mutexSize,
      robust: sync.PTHREAD_MUTEX_ROBUST !== 0,
      errors: sync,
      init(mutex) {
        attr.fill(0);
        const steps = [
          () => raw.mutexattr_init(attr),
          () => raw.mutexattr_settype(attr, sync.PTHREAD_MUTEX_ERRORCHECK),
          () => raw.mutexattr_setpshared(attr, sync.PTHREAD_PROCESS_SHARED),
          () => raw.mutexattr_setrobust(attr, sync.PTHREAD_MUTEX_ROBUST),
          () => raw.mutex_init(mutex, attr),
        ];
        for (const step of steps) {
          const error = step();
          if (error !== 0) return -error;
        }
        return 0;
      },
      lock(mutex, timeoutMs) {
        if (timeoutMs === Infinity) return -raw.mutex_lock(mutex);
        timeout.set(monotonicUs() + Math.max(0, Math.ceil(timeoutMs * 1000)));
        return -raw.mutex_clocklock(mutex, sync.CLOCK_MONOTONIC, timeout.bytes);
      },
      tryLock: (mutex) => -raw.mutex_trylock(mutex),
      unlock: (mutex) => -raw.mutex_unlock(mutex),
      consistent: (mutex) => -raw.mutex_consistent(mutex),
      lockWord: { waiters: sync.FUTEX_WAITERS, ownerDied: sync.FUTEX_OWNER_DIED, tidMask: sync.FUTEX_TID_MASK },
    },
    fence: {
      register: () => canFence() && raw.membarrier(sync.MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) === 0,
      fenceOthers: () => canFence() && raw.membarrier(sync.MEMBARRIER_CMD_GLOBAL_EXPEDITED) === 0,
    },
  };
}

/** The control word's place: a SharedArrayBuffer never moves, and is seen by a Worker too. */
function controlWord(raw: RawWait): { word: Int32Array; address: Address } {
  const word = new Int32Array(new SharedArrayBuffer(64));
  return { word, address: raw.addressOf(word.buffer) };
}

/** Deno: `futex_waitv` on the runtime's pool of threads (`nonblocking: true`). Its errno is lost there: only
 * the index it returns is used. */
export function poolOffLoop(raw: RawWait, sync: LinuxSync): OffLoopWaiter {
  const blocking = raw.waitvNonblocking!;
  const control = controlWord(raw);
  const capacity = sync.FUTEX_WAITV_MAX - 1;
  // One buffer (and its 32-bit view: a new typed array costs 330 ns in Deno) for the pending call's
  // waiters, written again only once that call has returned; a second call meanwhile gets its own.
  const bytes = new Uint8Array((capacity + 1) * WAITV_BYTES);
  const words = new Uint32Array(bytes.buffer);
  let calls = 0;
  const ended = (index: number, count: number) => {
    calls--;
    return index >= 0 && index < count ? index : -1;
  };
  const failed = (error: unknown) => {
    calls--;
    throw error;
  };
  return {
    via: "pool",
    capacity,
    wait(addresses, expected) {
      const word = { address: control.address, expected: Atomics.load(control.word, 0) };
      let waiters: Uint8Array = bytes;
      if (calls === 0) writeWaitv(words, sync, addresses, expected, word);
      else waiters = encodeWaitv(sync, addresses, expected, word);
      calls++;
      const count = addresses.length;
      return blocking(waiters, count + 1).then((index) => ended(index, count), failed);
    },
    interrupt() {
      // No call pending: nothing to end (and no system call spent on it).
      if (calls === 0) return;
      Atomics.add(control.word, 0, 1);
      raw.futex(control.address, sync.FUTEX_WAKE | sync.FUTEX_PRIVATE_FLAG, 0x7fffffff, null);
    },
  };
}

/** What the main thread and a wait thread share (Int32 slots of the SharedArrayBuffer). */
export const THREAD_SLOTS = {
  /** Bumped by the main thread for each new set of words (and to interrupt); the thread's control word. */
  generation: 0,
  /** How many words the current set has (0: wait for the next set). */
  count: 1,
  /** Then, from byte 8, a Float64 pair per word: its address and its expected value. */
  firstWordByte: 8,
} as const;

/** A started wait thread, as the main thread sees it. */
export interface WaitThread {
  /** Sends the one start message (`WaitThreadStart` of `wait_thread.ts`). */
  postMessage(message: unknown): void;
  /** Each `[generation, index]` the thread posts; an error if it cannot start or fails. */
  listen(onAnswer: (answer: [number, number]) => void, onError: (error: Error) => void): void;
  /** Whether the thread keeps the process alive (only while a wait is pending). */
  ref(): void;
  unref(): void;
}

/** Starts the wait thread: a web Worker running `wait_worker.ts` (Bun, Deno); Node.js passes its own. */
export type WaitThreadStarter = () => WaitThread;

/** A web Worker over `wait_worker.ts`. */
export const webWorkerThread: WaitThreadStarter = () => {
  const worker = new Worker(new URL("./wait_worker.ts", import.meta.url), { type: "module" }) as Worker & {
    ref?(): void;
    unref?(): void;
  };
  return {
    postMessage: (message) => worker.postMessage(message),
    listen(onAnswer, onError) {
      worker.onmessage = ({ data }: MessageEvent<[number, number]>) => onAnswer(data);
      worker.onerror = (event) => {
        event.preventDefault?.();
        onError(new Error(`the wait thread failed: ${(event as ErrorEvent).message ?? event}`));
      };
    },
    ref: () => worker.ref?.(),
    unref: () => worker.unref?.(),
  };
};

/**
 * A runtime without `nonblocking` calls (Bun, Node.js): a thread (`wait_thread.ts`) blocks in
 * `futex_waitv` and posts `[generation, index]` when it wakes. Made on first use; it keeps the process
 * alive only while a wait is pending.
 */
export function workerOffLoop(
  raw: RawWait,
  sync: LinuxSync,
  startThread: WaitThreadStarter = webWorkerThread,
): OffLoopWaiter {
  const capacity = sync.FUTEX_WAITV_MAX - 1;
  const shared = new SharedArrayBuffer(THREAD_SLOTS.firstWordByte + capacity * 16);
  const slots = new Int32Array(shared, 0, 2);
  const words = new Float64Array(shared, THREAD_SLOTS.firstWordByte);
  const controlAddress = raw.addressOf(shared);
  let thread: WaitThread | undefined;
  let pending: { generation: number; resolve: (index: number) => void; reject: (error: Error) => void } | undefined;
  let failure: Error | undefined;
  const wake = () => raw.futex(controlAddress, sync.FUTEX_WAKE | sync.FUTEX_PRIVATE_FLAG, 0x7fffffff, null);
  const start = () => {
    thread = startThread();
    thread.listen(([generation, index]) => {
      if (!pending || pending.generation !== generation) return;
      const { resolve } = pending;
      pending = undefined;
      thread!.unref();
      resolve(index);
    }, (error) => {
      // The thread could not start (or failed): say so rather than leave every waiter hanging.
      failure = error;
      const last = pending;
      pending = undefined;
      last?.reject(error);
    });
    thread.postMessage({ shared, sync });
  };
  const settle = (index: number) => {
    const last = pending;
    pending = undefined;
    last?.resolve(index);
  };
  return {
    via: "thread",
    capacity,
    wait(addresses, expected) {
      if (failure) return Promise.reject(failure);
      if (!thread) start();
      settle(-1);
      for (let i = 0; i < addresses.length; i++) {
        words[2 * i] = addresses[i];
        words[2 * i + 1] = expected[i];
      }
      Atomics.store(slots, THREAD_SLOTS.count, addresses.length);
      const generation = Atomics.add(slots, THREAD_SLOTS.generation, 1) + 1;
      wake();
      thread!.ref();
      return new Promise((resolve, reject) => pending = { generation, resolve, reject });
    },
    interrupt() {
      // No wait pending: the thread, having answered, blocks on the control word alone (waking it would
      // cost it a round of its loop and this process two context switches).
      if (!thread || !pending) return;
      Atomics.store(slots, THREAD_SLOTS.count, 0);
      Atomics.add(slots, THREAD_SLOTS.generation, 1);
      wake();
      thread.unref();
      settle(-1);
    },
  };
}
