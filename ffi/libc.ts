/**
 * The small slice of libc this library needs, in two layers.
 *
 * `RawLibc` is what a runtime binding (`deno.ts`, `bun.ts`, `node.ts`) provides: the C functions exactly as
 * declared, with numbers and byte arrays in and out, plus errno. Above it, with the platform's flags,
 * struct layouts and quirks applied once (`posix.ts`): `Libc`, the shared memory calls that `src/`
 * sees, and `SystemCalls`, the pipe, environment and clock calls that only cleanup (`src/cleanup/`)
 * sees. Both follow the kernel's convention: a result `>= 0` is success and a
 * negative result is `-errno`, read right after the failing call (docs/runtime-facts.md: JS work in
 * between, a GC in Deno, can overwrite errno). No pointer type of any runtime leaks out of `ffi/`: an
 * address is a plain number (user-space addresses fit in 2^53).
 */

/** The start of a mapping, as a plain number. */
export type Address = number;

/** The C functions, as a runtime binding declares them. Paths are NUL-terminated UTF-8. */
export interface RawLibc {
  /** `int shm_open(const char *name, int oflag, mode_t mode)` */
  shm_open(path: Uint8Array, oflag: number, mode: number): number;
  /** `int shm_unlink(const char *name)` */
  shm_unlink(path: Uint8Array): number;
  /** `int ftruncate(int fd, off_t length)` */
  ftruncate(fd: number, length: number): number;
  /**
   * `int posix_fallocate(int fd, off_t offset, off_t len)`, offset 0: returns the error number itself
   * (errno is not set); undefined where libc lacks it (macOS).
   */
  readonly posix_fallocate: ((fd: number, length: number) => number) | undefined;
  /** `int fchmod(int fd, mode_t mode)` */
  fchmod(fd: number, mode: number): number;
  /** `int fstat(int fd, struct stat *buf)` */
  fstat(fd: number, buf: Uint8Array): number;
  /**
   * `void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)`, offset 0;
   * address 0 is NULL; -1 is MAP_FAILED.
   */
  mmap(address: Address, length: number, prot: number, flags: number, fd: number): Address;
  /** `int munmap(void *addr, size_t length)` */
  munmap(address: Address, length: number): number;
  /** `int close(int fd)` */
  close(fd: number): number;
  /** `int pipe2(int pipefd[2], int flags)`; undefined where libc lacks it (macOS). */
  readonly pipe2: ((fds: Int32Array, flags: number) => number) | undefined;
  /** `ssize_t write(int fd, const void *buf, size_t count)`, all of `bytes` */
  write(fd: number, bytes: Uint8Array): number;
  /**
   * `ssize_t read(int fd, void *buf, size_t count)`, into all of `buffer`. Deno runs it on a pool thread,
   * so that the event loop keeps running, and its errno is lost there; Bun and Node block the thread (only
   * the watcher, a process of its own, reads).
   */
  read(fd: number, buffer: Uint8Array): Promise<number>;
  /** `int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact)`; null leaves that side out. */
  sigaction(signal: number, act: Uint8Array | null, old: Uint8Array | null): number;
  /** `pid_t getppid(void)` */
  getppid(): number;
  /** `int fcntl(int fd, int cmd, ... (int arg))`, always with one int argument */
  fcntl(fd: number, command: number, argument: number): number;
  /** `char *getenv(const char *name)`, the C string read out (null for NULL) */
  getenv(name: Uint8Array): string | null;
  /** `int setenv(const char *name, const char *value, int overwrite)` */
  setenv(name: Uint8Array, value: Uint8Array, overwrite: number): number;
  /** `int clock_gettime(clockid_t clockid, struct timespec *tp)`; `tp` is 16 bytes (two int64) */
  clock_gettime(clock: number, timespec: Uint8Array): number;
  /** The calling thread's errno, read through the pointer cached from `__errno_location()` / `__error()`. */
  errno(): number;
  /** A new ArrayBuffer over `length` bytes at `address + offset`, no copy. */
  arrayBuffer(address: Address, offset: number, length: number): ArrayBuffer;
  /** The largest ArrayBuffer this runtime can make, in bytes. */
  readonly maxArrayBufferBytes: number;
  /**
   * An ArrayBuffer over the whole mapping that unmaps it itself, exactly once, when the buffer is
   * garbage-collected or detached; undefined where the runtime cannot attach a native deallocator to
   * a buffer (Deno, Node), or where its deallocators would run too early (a Bun Worker: ffi/bun.ts).
   * Bun: `toArrayBuffer(ptr, 0, len, len, munmap)`, libc's munmap with ctx = length.
   */
  readonly unmappingArrayBuffer: ((address: Address, length: number) => ArrayBuffer) | undefined;
  /** A full garbage collection now, where the runtime allows it (Bun; Deno with --v8-flags=--expose-gc): whether it ran. */
  collectGarbage(): boolean;
}

/** What `src/` needs to know of the platform. */
export interface PlatformFacts {
  /** A short name for messages, such as `linux-x86_64`. */
  readonly id: string;
  /** The longest segment name, in UTF-8 bytes, without the leading `/`. */
  readonly maxNameBytes: number;
  /** errno number -> POSIX code (`2` -> `ENOENT`). */
  readonly errnoCodes: Readonly<Record<number, string>>;
}

/** libc, as seen by `src/`. Every result `< 0` is `-errno`. */
export interface Libc {
  readonly platform: PlatformFacts;
  /** The largest ArrayBuffer this runtime can make, in bytes. */
  readonly maxArrayBufferBytes: number;
  /** Opens `/name` read-write; with `create`, creates it exclusively with `mode`. A descriptor, or -errno. */
  shmOpen(name: string, create: boolean, mode: number): number;
  /** Removes `/name`: 0 or -errno. */
  shmUnlink(name: string): number;
  /** Sets the size, reserving nothing (tmpfs allocates a page when it is first touched): 0 or -errno. */
  ftruncate(fd: number, size: number): number;
  /**
   * Sets the size and reserves every page now (`posix_fallocate`), so that a full /dev/shm is ENOSPC
   * here and never a SIGBUS at the first touch: 0 or -errno. Undefined where libc has no
   * `posix_fallocate` (macOS). Both calls fail with EFBIG beyond `ulimit -f`, never with SIGXFSZ.
   */
  readonly reserve: ((fd: number, size: number) => number) | undefined;
  /** The size in bytes (`st_size`), or -errno. */
  fstatSize(fd: number): number;
  /** What makes the file behind `fd` this one and no other (`fstat`), or -errno. */
  fstatIdentity(fd: number): FileIdentity | number;
  /**
   * The identity of the segment now named `/name`, or -errno: opened read-only and non-blocking (a FIFO
   * planted under the name cannot block), never following a symlink, and closed again.
   */
  shmIdentity(name: string): FileIdentity | number;
  /** Maps `length` bytes of `fd` shared and read-write: the address, or -errno. */
  mmap(length: number, fd: number): Address | number;
  /**
   * Puts fresh private zero pages (reserving no memory) in place of the mapping at `address`: the
   * segment's memory is released as by munmap, but the addresses stay valid: 0 or -errno.
   */
  replaceWithZeros(address: Address, length: number): number;
  /** 0 or -errno. */
  munmap(address: Address, length: number): number;
  /** 0 or -errno. */
  close(fd: number): number;
  /** A new ArrayBuffer over `length` bytes at `address + offset`, no copy. */
  arrayBuffer(address: Address, offset: number, length: number): ArrayBuffer;
  /** See `RawLibc.unmappingArrayBuffer`. */
  readonly unmappingArrayBuffer: ((address: Address, length: number) => ArrayBuffer) | undefined;
  /** See `RawLibc.collectGarbage`. */
  collectGarbage(): boolean;
}

/** A file's identity: device and inode (unique while it exists), with its size and last status change. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  /** `st_ctim` in nanoseconds since 1970: creating, sizing and chmod set it. */
  readonly ctimeNs: bigint;
}

/** The calls of cleanup, seen only by `src/cleanup/`. Every result `< 0` is `-errno`. */
export interface SystemCalls {
  /** A pipe whose ends both close on exec: `[readEnd, writeEnd]`, or -errno; undefined where libc has no `pipe2`. */
  readonly pipe: (() => [number, number] | number) | undefined;
  /** Writes all of `bytes`: the count written, or -errno. A write interrupted by a signal is retried. */
  write(fd: number, bytes: Uint8Array): number;
  /** Reads into `buffer`: the count read, 0 at end of file, or `< 0` on failure (errno is not read: see `RawLibc`). */
  read(fd: number, buffer: Uint8Array): Promise<number>;
  /** 0 or -errno. */
  close(fd: number): number;
  /** The parent process's id. */
  getppid(): number;
  /** A copy of `fd` numbered `lowest` or above, closing on exec or not: the new descriptor, or -errno. */
  duplicateAbove(fd: number, lowest: number, closeOnExec: boolean): number;
  /** Asks for a pipe of `bytes` capacity (Linux; up to /proc/sys/fs/pipe-max-size): the capacity, or -errno. */
  growPipe(fd: number, bytes: number): number;
  /** Makes writes to `fd` fail with EAGAIN instead of blocking (`O_NONBLOCK`): 0 or -errno. */
  setNonBlocking(fd: number): number;
  /** The process-wide environment variable `name` (libc's, which every thread and Worker shares), or undefined. */
  getenv(name: string): string | undefined;
  /** Sets `name` unless it is set (`overwrite` false) or always: 0 or -errno. ASCII only. */
  setenv(name: string, value: string, overwrite: boolean): number;
  /** Now, on the clock that stamps file times, in nanoseconds since 1970. */
  fileClockNs(): bigint;
  /** The platform's errno number for `code` (`EAGAIN`, `EPIPE`, ...). */
  errnoOf(code: string): number;
}
