/** libc through `Deno.dlopen`. Only `ffi/runtime.ts` imports this file, and only inside Deno. */
import { firstLibrary } from "./first_library.ts";
import type { Address, RawLibc } from "./libc.ts";
import type { LibraryCandidate, LinuxSync, Platform } from "./platforms.ts";
import type { RawWait } from "./wait.ts";

/** The symbol table, C prototypes beside each declaration. */
function libcSymbols(platform: Platform) {
  return {
    // int ftruncate(int fd, off_t length)
    ftruncate: { parameters: ["i32", "i64"], result: "i32" },
    // int posix_fallocate(int fd, off_t offset, off_t len); returns the error number; macOS has none
    posix_fallocate: { parameters: ["i32", "i64", "i64"], result: "i32", optional: true },
    // int fchmod(int fd, mode_t mode)
    fchmod: { parameters: ["i32", "u32"], result: "i32" },
    // int fstat(int fd, struct stat *buf)
    fstat: { name: platform.fstatSymbol, parameters: ["i32", "buffer"], result: "i32" },
    // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset); MAP_FAILED is -1
    mmap: { parameters: ["usize", "usize", "i32", "i32", "i32", "i64"], result: "isize" },
    // int munmap(void *addr, size_t length)
    munmap: { parameters: ["usize", "usize"], result: "i32" },
    // int close(int fd)
    close: { parameters: ["i32"], result: "i32" },
    // int pipe2(int pipefd[2], int flags); macOS has none: optional, null when missing
    pipe2: { parameters: ["buffer", "i32"], result: "i32", optional: true },
    // ssize_t write(int fd, const void *buf, size_t count)
    write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    // ssize_t read(int fd, void *buf, size_t count), on a pool thread so that the event loop keeps running
    read: { parameters: ["i32", "buffer", "usize"], result: "isize", nonblocking: true },
    // int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact)
    sigaction: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
    // pid_t getppid(void)
    getppid: { parameters: [], result: "i32" },
    // int fcntl(int fd, int cmd, ... (int arg)): variadic, called with one int (x86-64 and arm64 Linux pass it
    // in a register either way)
    fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
    // char *getenv(const char *name)
    getenv: { parameters: ["buffer"], result: "pointer" },
    // int setenv(const char *name, const char *value, int overwrite)
    setenv: { parameters: ["buffer", "buffer", "i32"], result: "i32" },
    // int clock_gettime(clockid_t clockid, struct timespec *tp)
    clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
    // int *__errno_location(void) (glibc, musl) / int *__error(void) (macOS)
    errno_location: { name: platform.errnoSymbol, parameters: [], result: "pointer" },
  } as const satisfies Deno.ForeignLibraryInterface;
}

const shmSymbols = {
  // int shm_open(const char *name, int oflag, mode_t mode)
  shm_open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int shm_unlink(const char *name)
  shm_unlink: { parameters: ["buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

function open(platform: Platform, candidate: LibraryCandidate) {
  const libc = Deno.dlopen(candidate.libc, libcSymbols(platform)).symbols;
  const shm = candidate.shm
    ? Deno.dlopen(candidate.shm, shmSymbols).symbols
    : Deno.dlopen(candidate.libc, shmSymbols).symbols;
  return { libc, shm };
}

/** V8's `gc()`, present only when Deno runs with --v8-flags=--expose-gc. */
function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") return false;
  gc();
  return true;
}

/** The error of a dlopen refused for want of --allow-ffi: the same for every library, so the first one says it. */
function isPermissionError(error: unknown): boolean {
  return error instanceof Error && (error.name === "NotCapable" || error.name === "PermissionDenied");
}

/** Opens the first library of `platform.libraries` that has every symbol (optional ones may be missing). */
export function bindDeno(platform: Platform): RawLibc {
  const { libc, shm } = firstLibrary(platform.libraries, (candidate) => open(platform, candidate), isPermissionError);
  const errnoView = new Deno.UnsafePointerView(libc.errno_location()!);
  const pipe2 = libc.pipe2;
  const fallocate = libc.posix_fallocate;
  return {
    shm_open: (path, oflag, mode) => shm.shm_open(path, oflag, mode),
    shm_unlink: (path) => shm.shm_unlink(path),
    ftruncate: (fd, length) => libc.ftruncate(fd, BigInt(length)),
    posix_fallocate: fallocate ? (fd, length) => fallocate(fd, 0n, BigInt(length)) : undefined,
    fchmod: (fd, mode) => libc.fchmod(fd, mode),
    fstat: (fd, buf) => libc.fstat(fd, buf),
    mmap: (address, length, prot, flags, fd) => Number(libc.mmap(BigInt(address), BigInt(length), prot, flags, fd, 0n)),
    munmap: (address, length) => libc.munmap(BigInt(address), BigInt(length)),
    close: (fd) => libc.close(fd),
    pipe2: pipe2 ? (fds, flags) => pipe2(fds, flags) : undefined,
    write: (fd, bytes) => Number(libc.write(fd, bytes, BigInt(bytes.length))),
    read: async (fd, buffer) => Number(await libc.read(fd, buffer, BigInt(buffer.length))),
    sigaction: (signal, act, old) => libc.sigaction(signal, act, old),
    getppid: () => libc.getppid(),
    fcntl: (fd, command, argument) => libc.fcntl(fd, command, argument),
    getenv: (name) => {
      const value = libc.getenv(name);
      return value === null ? null : Deno.UnsafePointerView.getCString(value);
    },
    setenv: (name, value, overwrite) => libc.setenv(name, value, overwrite),
    clock_gettime: (clock, timespec) => libc.clock_gettime(clock, timespec),
    errno: () => errnoView.getInt32(),
    arrayBuffer: (address: Address, offset: number, length: number) =>
      Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(BigInt(address))!, length, offset),
    maxArrayBufferBytes: Number.MAX_SAFE_INTEGER,
    // Deno's getArrayBuffer takes no deallocator: src/mapping.ts unmaps forgotten mappings itself.
    unmappingArrayBuffer: undefined,
    collectGarbage,
  };
}

/** Waiting and waking (issue 14): the futex system call, the robust pthread mutex, the clock. */
function waitSymbols() {
  return {
    // long syscall(SYS_futex, uint32_t *uaddr, int futex_op, uint32_t val, const struct timespec *timeout, uint32_t *uaddr2, uint32_t val3)
    // uaddr a pointer object (no BigInt made per call); the result read as its low 32 bits (0, -1 or a count
    // of woken waiters: x86-64 and arm64 return the long in a register whose low half is that int), no BigInt
    futex: { name: "syscall", parameters: ["i64", "pointer", "i32", "i32", "buffer", "pointer", "i32"], result: "i32" },
    // long syscall(SYS_futex_waitv, struct futex_waitv *waiters, unsigned int nr_futexes, unsigned int flags, struct timespec *timeout, clockid_t clockid)
    // (the result read as its low 32 bits, an index or -1, as futex's is: no BigInt)
    waitv: { name: "syscall", parameters: ["i64", "buffer", "u32", "u32", "pointer", "i32"], result: "i32" },
    // the same on a pool thread: a Promise, the event loop running meanwhile (errno is lost there)
    waitv_nb: {
      name: "syscall",
      parameters: ["i64", "buffer", "u32", "u32", "pointer", "i32"],
      result: "i32",
      nonblocking: true,
    },
    // int pthread_mutexattr_init(pthread_mutexattr_t *attr)
    pthread_mutexattr_init: { parameters: ["buffer"], result: "i32" },
    // int pthread_mutexattr_settype(pthread_mutexattr_t *attr, int type)
    pthread_mutexattr_settype: { parameters: ["buffer", "i32"], result: "i32" },
    // int pthread_mutexattr_setpshared(pthread_mutexattr_t *attr, int pshared)
    pthread_mutexattr_setpshared: { parameters: ["buffer", "i32"], result: "i32" },
    // int pthread_mutexattr_setrobust(pthread_mutexattr_t *attr, int robustness)
    pthread_mutexattr_setrobust: { parameters: ["buffer", "i32"], result: "i32" },
    // int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attr)
    pthread_mutex_init: { parameters: ["buffer", "buffer"], result: "i32" },
    // int pthread_mutex_lock(pthread_mutex_t *mutex), and the calls after it: the mutex as a pointer object
    // (bindDenoWait's mutexPointer), cheaper than a "buffer" argument
    pthread_mutex_lock: { parameters: ["pointer"], result: "i32" },
    // int pthread_mutex_trylock(pthread_mutex_t *mutex)
    pthread_mutex_trylock: { parameters: ["pointer"], result: "i32" },
    // int pthread_mutex_unlock(pthread_mutex_t *mutex)
    pthread_mutex_unlock: { parameters: ["pointer"], result: "i32" },
    // int pthread_mutex_consistent(pthread_mutex_t *mutex)
    pthread_mutex_consistent: { parameters: ["pointer"], result: "i32" },
    // int pthread_mutex_clocklock(pthread_mutex_t *mutex, clockid_t clockid, const struct timespec *abstime)
    pthread_mutex_clocklock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
    // int clock_gettime(clockid_t clockid, struct timespec *tp)
    clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
    // int sched_getaffinity(pid_t pid, size_t cpusetsize, cpu_set_t *mask)
    sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
    // int sched_getcpu(void)
    sched_getcpu: { parameters: [], result: "i32" },
    // pid_t getpid(void)
    getpid: { parameters: [], result: "i32" },
    // int kill(pid_t pid, int sig)
    kill: { parameters: ["i32", "i32"], result: "i32" },
    // int *__errno_location(void)
    errno_location: { name: "__errno_location", parameters: [], result: "pointer" },
  } as const satisfies Deno.ForeignLibraryInterface;
}

/** Opens the wait calls from the first of `platform.libraries` that has them all (Linux only for now). */
export function bindDenoWait(platform: Platform, sync: LinuxSync): RawWait {
  const s = firstLibrary(platform.libraries, (candidate) => Deno.dlopen(candidate.libc, waitSymbols()).symbols);
  const errnoView = new Deno.UnsafePointerView(s.errno_location()!);
  const SYS_futex = BigInt(sync.SYS_futex);
  const SYS_waitv = BigInt(sync.SYS_futex_waitv);
  const SYS_membarrier = BigInt(sync.SYS_membarrier);
  const commands: Deno.PointerValue[] = [];
  // The pointer of each address waited on or woken, made once: one for the address used last (a loop on one
  // word), the others in a map, emptied when it grows past a few hundred (segments come and go).
  const pointers = new Map<number, Deno.PointerValue>();
  let lastAddress = -1;
  let lastPointer: Deno.PointerValue = null;
  const pointerOf = (address: number): Deno.PointerValue => {
    if (address === lastAddress) return lastPointer;
    let pointer = pointers.get(address);
    if (pointer === undefined) {
      if (pointers.size >= 256) pointers.clear();
      pointers.set(address, pointer = Deno.UnsafePointer.create(BigInt(address)));
    }
    lastAddress = address;
    return lastPointer = pointer;
  };
  // The pointer of a mutex's bytes, made once per view of them: as a "pointer" argument, trylock + unlock cost
  // 16-25 ns a pair against 32-47 ns as a "buffer" (measured 2026-12-03, taskset -c 1). A view whose segment
  // is closed reads length 0 and gets null, as a "buffer" argument of it did (src/sync/mutex.ts never passes
  // one); no pointer outlives its view's mapping in the cache, which a length-0 view never reaches.
  const mutexPointers = new WeakMap<Uint8Array, Deno.PointerValue>();
  let lastMutex: Uint8Array | null = null;
  let lastMutexPointer: Deno.PointerValue = null;
  const mutexPointer = (mutex: Uint8Array): Deno.PointerValue => {
    if (mutex.length === 0) return null;
    if (mutex === lastMutex) return lastMutexPointer;
    let pointer = mutexPointers.get(mutex);
    if (pointer === undefined) mutexPointers.set(mutex, pointer = Deno.UnsafePointer.of(mutex));
    lastMutex = mutex;
    return lastMutexPointer = pointer;
  };
  return {
    futex: (address, op, value, timeout) => s.futex(SYS_futex, pointerOf(address), op, value, timeout, null, 0),
    waitv: (waiters, count) => s.waitv(SYS_waitv, waiters, count, 0, null, 0),
    // the command in the pointer's register: a pointer of its number (0 is null), made once per command
    membarrier: (command) =>
      s.futex(SYS_membarrier, commands[command] ??= Deno.UnsafePointer.create(BigInt(command)), 0, 0, null, null, 0),
    waitvNonblocking: (waiters, count) => s.waitv_nb(SYS_waitv, waiters, count, 0, null, 0),
    mutexattr_init: (attr) => s.pthread_mutexattr_init(attr),
    mutexattr_settype: (attr, type) => s.pthread_mutexattr_settype(attr, type),
    mutexattr_setpshared: (attr, shared) => s.pthread_mutexattr_setpshared(attr, shared),
    mutexattr_setrobust: (attr, robust) => s.pthread_mutexattr_setrobust(attr, robust),
    mutex_init: (mutex, attr) => s.pthread_mutex_init(mutex, attr),
    mutex_lock: (mutex) => s.pthread_mutex_lock(mutexPointer(mutex)),
    mutex_trylock: (mutex) => s.pthread_mutex_trylock(mutexPointer(mutex)),
    mutex_unlock: (mutex) => s.pthread_mutex_unlock(mutexPointer(mutex)),
    mutex_consistent: (mutex) => s.pthread_mutex_consistent(mutexPointer(mutex)),
    mutex_clocklock: (mutex, clock, abstime) => s.pthread_mutex_clocklock(mutexPointer(mutex), clock, abstime),
    clock_gettime: (clock, time) => s.clock_gettime(clock, time),
    sched_getaffinity: (pid, size, mask) => s.sched_getaffinity(pid, BigInt(size), mask),
    sched_getcpu: s.sched_getcpu,
    getpid: () => s.getpid(),
    kill: (pid, signal) => s.kill(pid, signal),
    errno: () => errnoView.getInt32(),
    addressOf: (buffer) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer as ArrayBuffer))),
  };
}
