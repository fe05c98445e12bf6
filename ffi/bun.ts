/** libc through `bun:ffi`. Only `ffi/runtime.ts` imports this file, and only inside Bun. */
import { isMainThread } from "node:worker_threads";
import { firstLibrary, firstLibraryIfAny } from "./first_library.ts";
import type { Address, RawLibc } from "./libc.ts";
import type { LibraryCandidate, LinuxSync, Platform } from "./platforms.ts";
import type { RawUring } from "./uring.ts";
import type { RawWait } from "./wait.ts";
import { type MaybeOptional, openWithOptional } from "./optional_symbols.ts";

/** A symbol's declaration, as `bun:ffi` takes it. */
type BunSymbol = { args: readonly string[]; returns: string };

/** A declaration in the table below: `optional` as in Deno, a symbol that this libc may lack. */
type Declaration = MaybeOptional<BunSymbol>;

/** A library's symbols, opened. */
type BunSymbols = Record<string, (...args: unknown[]) => number>;

/** The part of `bun:ffi` used here (Deno type-checks this file, so it is declared, not imported). */
interface BunFfi {
  dlopen(path: string, symbols: Record<string, BunSymbol>): { symbols: BunSymbols };
  /** The 4th and 5th parameters (missing from Bun's types): a native `void fn(void *ptr, void *ctx)` run once
   * when the buffer is collected or detached, and its `ctx`. */
  toArrayBuffer(address: number, byteOffset: number, byteLength: number, ctx?: number, fn?: number): ArrayBuffer;
  read: { i32(address: number, byteOffset?: number): number };
  /** `new CString(address)`: the NUL-terminated string at `address`, as a JS string. */
  CString: new (address: number) => string;
}

/** `bun:ffi` is loaded synchronously, so that importing the library stays synchronous in both runtimes. */
function bunFfi(): BunFfi {
  return (import.meta as unknown as { require(id: string): BunFfi }).require("bun:ffi");
}

/** The symbol table, C prototypes beside each declaration. */
function libcSymbols(platform: Platform): Record<string, Declaration> {
  return {
    // int ftruncate(int fd, off_t length)
    ftruncate: { args: ["i32", "i64"], returns: "i32" },
    // int posix_fallocate(int fd, off_t offset, off_t len); returns the error number; macOS has none
    posix_fallocate: { args: ["i32", "i64", "i64"], returns: "i32", optional: true },
    // int fchmod(int fd, mode_t mode)
    fchmod: { args: ["i32", "u32"], returns: "i32" },
    // int fstat(int fd, struct stat *buf)
    [platform.fstatSymbol]: { args: ["i32", "ptr"], returns: "i32" },
    // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset); MAP_FAILED is -1
    mmap: { args: ["ptr", "u64", "i32", "i32", "i32", "i64"], returns: "i64_fast" },
    // int munmap(void *addr, size_t length)
    munmap: { args: ["ptr", "u64"], returns: "i32" },
    // int close(int fd)
    close: { args: ["i32"], returns: "i32" },
    // int pipe2(int pipefd[2], int flags); macOS has none: optional, undefined when missing
    pipe2: { args: ["ptr", "i32"], returns: "i32", optional: true },
    // ssize_t write(int fd, const void *buf, size_t count)
    write: { args: ["i32", "ptr", "u64"], returns: "i64_fast" },
    // ssize_t read(int fd, void *buf, size_t count); Bun blocks the thread (only the watcher reads)
    read: { args: ["i32", "ptr", "u64"], returns: "i64_fast" },
    // int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact)
    sigaction: { args: ["i32", "ptr", "ptr"], returns: "i32" },
    // pid_t getppid(void)
    getppid: { args: [], returns: "i32" },
    // int fcntl(int fd, int cmd, ... (int arg)): variadic, called with one int (x86-64 and arm64 Linux pass it
    // in a register either way)
    fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
    // char *getenv(const char *name)
    getenv: { args: ["ptr"], returns: "ptr" },
    // int setenv(const char *name, const char *value, int overwrite)
    setenv: { args: ["ptr", "ptr", "i32"], returns: "i32" },
    // int clock_gettime(clockid_t clockid, struct timespec *tp)
    clock_gettime: { args: ["i32", "ptr"], returns: "i32" },
    // int *__errno_location(void) (glibc, musl) / int *__error(void) (macOS)
    [platform.errnoSymbol]: { args: [], returns: "ptr" },
  };
}

const shmSymbols = {
  // int shm_open(const char *name, int oflag, mode_t mode)
  shm_open: { args: ["ptr", "i32", "u32"], returns: "i32" },
  // int shm_unlink(const char *name)
  shm_unlink: { args: ["ptr"], returns: "i32" },
};

function open(ffi: BunFfi, platform: Platform, candidate: LibraryCandidate) {
  const libc = openWithOptional((symbols) => ffi.dlopen(candidate.libc, symbols).symbols, libcSymbols(platform));
  const shm = ffi.dlopen(candidate.shm ?? candidate.libc, shmSymbols).symbols;
  return { libc, shm };
}

/** Bun cannot make an ArrayBuffer above 4 GiB (docs/runtime-facts.md). */
const BUN_MAX_ARRAY_BUFFER = 2 ** 32;

/** Opens the first library of `platform.libraries` that has every symbol (optional ones may be missing). */
export function bindBun(platform: Platform): RawLibc {
  const ffi = bunFfi();
  const { libc, shm } = firstLibrary(platform.libraries, (candidate) => open(ffi, platform, candidate));
  const pipe2: BunSymbols[string] | undefined = libc.pipe2;
  const fstat = libc[platform.fstatSymbol];
  const errnoAddress = libc[platform.errnoSymbol]();
  const fallocate: BunSymbols[string] | undefined = libc.posix_fallocate;
  // munmap's own address, as the deallocator of a mapping's buffer: called as munmap(ptr, ctx = length).
  const munmapAddress = (libc.munmap as unknown as { ptr: number }).ptr;
  return {
    shm_open: (path, oflag, mode) => shm.shm_open(path, oflag, mode),
    shm_unlink: (path) => shm.shm_unlink(path),
    ftruncate: (fd, length) => libc.ftruncate(fd, length),
    posix_fallocate: fallocate && ((fd, length) => fallocate(fd, 0, length)),
    fchmod: (fd, mode) => libc.fchmod(fd, mode),
    fstat: (fd, buf) => fstat(fd, buf),
    mmap: (address, length, prot, flags, fd) => Number(libc.mmap(address || null, length, prot, flags, fd, 0)),
    munmap: (address, length) => libc.munmap(address, length),
    close: (fd) => libc.close(fd),
    pipe2: pipe2 && ((fds, flags) => pipe2(fds, flags)),
    write: (fd, bytes) => Number(libc.write(fd, bytes, bytes.length)),
    read: (fd, buffer) => Promise.resolve(Number(libc.read(fd, buffer, buffer.length))),
    sigaction: (signal, act, old) => libc.sigaction(signal, act, old),
    getppid: () => libc.getppid(),
    fcntl: (fd, command, argument) => libc.fcntl(fd, command, argument),
    getenv: (name) => {
      const value = libc.getenv(name);
      return value ? String(new ffi.CString(value)) : null;
    },
    setenv: (name, value, overwrite) => libc.setenv(name, value, overwrite),
    clock_gettime: (clock, timespec) => libc.clock_gettime(clock, timespec),
    errno: () => ffi.read.i32(errnoAddress),
    arrayBuffer: (address: Address, offset: number, length: number) => ffi.toArrayBuffer(address, offset, length),
    maxArrayBufferBytes: BUN_MAX_ARRAY_BUFFER,
    // Runs munmap when the buffer is collected or detached, exactly once (docs/runtime-facts.md): when the
    // buffer itself dies, not merely a handle of it, so a native use that holds the buffer holds the mapping.
    // Not in a Worker: a terminated Worker's heap teardown runs these deallocators before its thread
    // exits, so a robust mutex it held would be unmapped when the kernel walks the thread's robust list,
    // and never handed on. A Worker's forgotten mappings go by the registry (src/mapping.ts) instead.
    unmappingArrayBuffer: isMainThread
      ? (address: Address, length: number) => ffi.toArrayBuffer(address, 0, length, length, munmapAddress)
      : undefined,
    collectGarbage: () => {
      (globalThis as unknown as { Bun: { gc(force: boolean): void } }).Bun.gc(true);
      return true;
    },
  };
}

/** Waiting and waking (issue 14): the futex system call, the robust pthread mutex, the clock. */
const waitSymbols: Record<string, BunSymbol> = {
  // long syscall(SYS_futex, uint32_t *uaddr, int futex_op, uint32_t val, const struct timespec *timeout, uint32_t *uaddr2, uint32_t val3);
  // the same `syscall` declared again below for futex_waitv: Bun keys symbols by name, so it is opened apart
  syscall: { args: ["i64", "ptr", "i32", "i32", "ptr", "ptr", "i32"], returns: "i64_fast" },
  // int pthread_mutexattr_init(pthread_mutexattr_t *attr)
  pthread_mutexattr_init: { args: ["ptr"], returns: "i32" },
  // int pthread_mutexattr_settype(pthread_mutexattr_t *attr, int type)
  pthread_mutexattr_settype: { args: ["ptr", "i32"], returns: "i32" },
  // int pthread_mutexattr_setpshared(pthread_mutexattr_t *attr, int pshared)
  pthread_mutexattr_setpshared: { args: ["ptr", "i32"], returns: "i32" },
  // int pthread_mutexattr_setrobust(pthread_mutexattr_t *attr, int robustness)
  pthread_mutexattr_setrobust: { args: ["ptr", "i32"], returns: "i32" },
  // int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attr)
  pthread_mutex_init: { args: ["ptr", "ptr"], returns: "i32" },
  // int pthread_mutex_lock(pthread_mutex_t *mutex)
  pthread_mutex_lock: { args: ["ptr"], returns: "i32" },
  // int pthread_mutex_trylock(pthread_mutex_t *mutex)
  pthread_mutex_trylock: { args: ["ptr"], returns: "i32" },
  // int pthread_mutex_unlock(pthread_mutex_t *mutex)
  pthread_mutex_unlock: { args: ["ptr"], returns: "i32" },
  // int pthread_mutex_consistent(pthread_mutex_t *mutex)
  pthread_mutex_consistent: { args: ["ptr"], returns: "i32" },
  // int pthread_mutex_clocklock(pthread_mutex_t *mutex, clockid_t clockid, const struct timespec *abstime)
  pthread_mutex_clocklock: { args: ["ptr", "i32", "ptr"], returns: "i32" },
  // int clock_gettime(clockid_t clockid, struct timespec *tp)
  clock_gettime: { args: ["i32", "ptr"], returns: "i32" },
  // int sched_getaffinity(pid_t pid, size_t cpusetsize, cpu_set_t *mask)
  sched_getaffinity: { args: ["i32", "u64", "ptr"], returns: "i32" },
  // int sched_getcpu(void)
  sched_getcpu: { args: [], returns: "i32" },
  // pid_t getpid(void)
  getpid: { args: [], returns: "i32" },
  // int kill(pid_t pid, int sig)
  kill: { args: ["i32", "i32"], returns: "i32" },
  // int *__errno_location(void)
  __errno_location: { args: [], returns: "ptr" },
};

/** long syscall(SYS_futex_waitv, struct futex_waitv *waiters, unsigned int nr_futexes, unsigned int flags, struct timespec *timeout, clockid_t clockid) */
const waitvSymbol: Record<string, BunSymbol> = {
  syscall: { args: ["i64", "ptr", "u32", "u32", "ptr", "i32"], returns: "i64_fast" },
};

/** Opens the wait calls from the first of `platform.libraries` that has them all (Linux only for now).
 * Bun has no `nonblocking` calls: waits off the event loop go through a Worker (`wait.ts`). */
export function bindBunWait(platform: Platform, sync: LinuxSync): RawWait {
  const ffi = bunFfi() as BunFfi & { ptr(value: ArrayBufferLike | ArrayBufferView): number };
  const { s, waitv } = firstLibrary(
    platform.libraries,
    (candidate): { s: BunSymbols; waitv: BunSymbols[string] } => ({
      s: ffi.dlopen(candidate.libc, waitSymbols).symbols,
      waitv: ffi.dlopen(candidate.libc, waitvSymbol).symbols.syscall,
    }),
  );
  const errnoAddress = s.__errno_location();
  const { SYS_futex, SYS_futex_waitv, SYS_membarrier } = sync;
  return {
    futex: (address, op, value, timeout) => s.syscall(SYS_futex, address, op, value, timeout, null, 0),
    waitv: (waiters, count, deadline = null) =>
      waitv(SYS_futex_waitv, waiters, count, 0, deadline, sync.CLOCK_MONOTONIC),
    waitvNonblocking: undefined,
    // the command in the pointer's register (Bun takes a number there)
    membarrier: (command) => s.syscall(SYS_membarrier, command, 0, 0, null, null, 0),
    mutexattr_init: (attr) => s.pthread_mutexattr_init(attr),
    mutexattr_settype: (attr, type) => s.pthread_mutexattr_settype(attr, type),
    mutexattr_setpshared: (attr, shared) => s.pthread_mutexattr_setpshared(attr, shared),
    mutexattr_setrobust: (attr, robust) => s.pthread_mutexattr_setrobust(attr, robust),
    mutex_init: (mutex, attr) => s.pthread_mutex_init(mutex, attr),
    mutex_lock: (mutex) => s.pthread_mutex_lock(mutex),
    mutex_trylock: (mutex) => s.pthread_mutex_trylock(mutex),
    mutex_unlock: (mutex) => s.pthread_mutex_unlock(mutex),
    mutex_consistent: (mutex) => s.pthread_mutex_consistent(mutex),
    mutex_clocklock: (mutex, clock, abstime) => s.pthread_mutex_clocklock(mutex, clock, abstime),
    clock_gettime: (clock, time) => s.clock_gettime(clock, time),
    sched_getaffinity: (pid, size, mask) => s.sched_getaffinity(pid, size, mask),
    sched_getcpu: s.sched_getcpu,
    getpid: () => s.getpid(),
    kill: (pid, signal) => s.kill(pid, signal),
    errno: () => ffi.read.i32(errnoAddress),
    addressOf: (buffer) => ffi.ptr(buffer),
  };
}

/** io_uring (`uring.ts`): two `syscall`s of their own argument lists, each in a `dlopen` of its own (Bun keys
 * symbols by name), and the calls that map the ring and make its doorbell pipe. */
const uringSymbols: Record<string, BunSymbol> = {
  // long syscall(SYS_io_uring_setup, unsigned entries, struct io_uring_params *p)
  syscall: { args: ["i64", "u32", "ptr"], returns: "i32" },
  // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset); MAP_FAILED is -1
  mmap: { args: ["ptr", "u64", "i32", "i32", "i32", "i64"], returns: "i64_fast" },
  // int munmap(void *addr, size_t length)
  munmap: { args: ["ptr", "u64"], returns: "i32" },
  // int close(int fd)
  close: { args: ["i32"], returns: "i32" },
  // int pipe2(int pipefd[2], int flags)
  pipe2: { args: ["ptr", "i32"], returns: "i32" },
};
const uringEnterSymbol: Record<string, BunSymbol> = {
  // long syscall(SYS_io_uring_enter, int fd, unsigned to_submit, unsigned min_complete, unsigned flags, const sigset_t *sig, size_t sz)
  syscall: { args: ["i64", "i32", "u32", "u32", "u32", "ptr", "u64"], returns: "i32" },
};

/** The io_uring calls (Linux), or undefined where libc will not open them. The doorbell is read as a stream on
 * Bun's event loop (a FIFO read that way woke in 13.6-17 us, docs/runtime-facts.md); `node:net` over a pipe's
 * descriptor reads nothing in Bun 1.4. A pending read keeps the process alive and a stream cannot be unref'd, so
 * `unref` cancels it (the descriptor stays open) one macrotask later, unless a `ref` came meanwhile. */
export function bindBunUring(platform: Platform, numbers: { setup: number; enter: number }): RawUring | undefined {
  const ffi = bunFfi();
  const bun = (globalThis as unknown as {
    Bun: { file(fd: number): { stream(): ReadableStream<Uint8Array> } };
  }).Bun;
  const opened = firstLibraryIfAny(
    platform.libraries,
    (candidate): { s: BunSymbols; enter: BunSymbols[string] } => ({
      s: ffi.dlopen(candidate.libc, uringSymbols).symbols,
      enter: ffi.dlopen(candidate.libc, uringEnterSymbol).symbols.syscall,
    }),
  );
  if (!opened) return undefined; // no library here has them
  const { s, enter } = opened;
  return {
    setup: (entries, params) => s.syscall(numbers.setup, entries, params),
    enter: (fd, toSubmit, minComplete, flags) => enter(numbers.enter, fd, toSubmit, minComplete, flags, null, 0),
    mmap: (length, prot, flags, fd, offset) => s.mmap(null, length, prot, flags, fd, offset),
    munmap: (address, length) => s.munmap(address, length),
    close: (fd) => s.close(fd),
    pipe2: (fds, flags) => s.pipe2(fds, flags),
    arrayBuffer: (address, length) => ffi.toArrayBuffer(address, 0, length),
    watch(fd, onReadable) {
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
      let wanted = false;
      // One timer at a time, not one per wait: a ping-pong unrefs and refs again on every round trip.
      let check: ReturnType<typeof setImmediate> | undefined;
      const read = async (mine: ReadableStreamDefaultReader<Uint8Array>) => {
        try {
          while (!(await mine.read()).done && reader === mine) onReadable();
        } catch {
          // cancelled
        }
      };
      const stopIfIdle = () => {
        check = undefined;
        if (wanted || !reader) return;
        const last = reader;
        reader = undefined;
        last.cancel().catch(() => {});
      };
      return {
        ref() {
          wanted = true;
          if (reader) return;
          reader = bun.file(fd).stream().getReader();
          void read(reader);
        },
        unref() {
          wanted = false;
          check ??= setImmediate(stopIfIdle);
        },
      };
    },
  };
}
