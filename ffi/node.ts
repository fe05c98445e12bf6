/**
 * libc through Node's `node:ffi` (Node.js 26.1+). Only `ffi/runtime.ts` imports this file, and only
 * inside Node, once it knows that `node:ffi` is there (`nodeFfi()`).
 *
 * `node:ffi` takes 64-bit arguments as bigints only (a number is a TypeError) and returns 64-bit
 * results and pointers as bigints, so lengths and addresses are converted at this edge: everything
 * above it sees plain numbers, as with Deno and Bun. It has no `nonblocking` calls: `read` blocks the
 * thread, as in Bun, and only the watcher, a process of its own, ever reads.
 */
import type { Address, RawLibc } from "./libc.ts";
import type { LibraryCandidate, Platform } from "./platforms.ts";
import { type MaybeOptional, openWithOptional } from "./optional_symbols.ts";

/** A symbol's declaration, as `node:ffi` takes it (the result type's key is `return`: `result` is ignored). */
type NodeSymbol = { arguments: readonly string[]; return: string };

/** A declaration in the table below: `optional` as in Deno, a symbol that this libc may lack. */
type Declaration = MaybeOptional<NodeSymbol>;

/** A library's functions, opened. */
type NodeFunctions = Record<string, (...args: unknown[]) => number | bigint>;

/** The part of `node:ffi` used here (Deno type-checks this file, so it is declared, not imported). */
export interface NodeFfi {
  dlopen(path: string, symbols: Record<string, NodeSymbol>): { functions: NodeFunctions };
  toArrayBuffer(pointer: bigint, length: number, copy: boolean): ArrayBuffer;
  getInt32(pointer: bigint, offset: number): number;
  /** The NUL-terminated C string at `pointer`, as UTF-8. */
  toString(pointer: bigint): string;
}

/** The symbol table, C prototypes beside each declaration. */
function libcSymbols(platform: Platform): Record<string, Declaration> {
  return {
    // int ftruncate(int fd, off_t length)
    ftruncate: { arguments: ["int32", "int64"], return: "int32" },
    // int posix_fallocate(int fd, off_t offset, off_t len); returns the error number; macOS has none
    posix_fallocate: { arguments: ["int32", "int64", "int64"], return: "int32", optional: true },
    // int fchmod(int fd, mode_t mode)
    fchmod: { arguments: ["int32", "uint32"], return: "int32" },
    // int fstat(int fd, struct stat *buf)
    [platform.fstatSymbol]: { arguments: ["int32", "buffer"], return: "int32" },
    // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset); MAP_FAILED is -1
    mmap: { arguments: ["uint64", "uint64", "int32", "int32", "int32", "int64"], return: "int64" },
    // int munmap(void *addr, size_t length)
    munmap: { arguments: ["uint64", "uint64"], return: "int32" },
    // int close(int fd)
    close: { arguments: ["int32"], return: "int32" },
    // int pipe2(int pipefd[2], int flags); macOS has none: optional, undefined when missing
    pipe2: { arguments: ["buffer", "int32"], return: "int32", optional: true },
    // ssize_t write(int fd, const void *buf, size_t count)
    write: { arguments: ["int32", "buffer", "uint64"], return: "int64" },
    // ssize_t read(int fd, void *buf, size_t count); blocks the thread (only the watcher reads)
    read: { arguments: ["int32", "buffer", "uint64"], return: "int64" },
    // int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact)
    sigaction: { arguments: ["int32", "buffer", "buffer"], return: "int32" },
    // pid_t getppid(void)
    getppid: { arguments: [], return: "int32" },
    // int fcntl(int fd, int cmd, ... (int arg)): variadic, called with one int (x86-64 and arm64 Linux pass it
    // in a register either way)
    fcntl: { arguments: ["int32", "int32", "int32"], return: "int32" },
    // char *getenv(const char *name)
    getenv: { arguments: ["buffer"], return: "pointer" },
    // int setenv(const char *name, const char *value, int overwrite)
    setenv: { arguments: ["buffer", "buffer", "int32"], return: "int32" },
    // int clock_gettime(clockid_t clockid, struct timespec *tp)
    clock_gettime: { arguments: ["int32", "buffer"], return: "int32" },
    // int *__errno_location(void) (glibc, musl) / int *__error(void) (macOS)
    [platform.errnoSymbol]: { arguments: [], return: "pointer" },
  };
}

const shmSymbols = {
  // int shm_open(const char *name, int oflag, mode_t mode)
  shm_open: { arguments: ["buffer", "int32", "uint32"], return: "int32" },
  // int shm_unlink(const char *name)
  shm_unlink: { arguments: ["buffer"], return: "int32" },
};

function open(ffi: NodeFfi, platform: Platform, candidate: LibraryCandidate) {
  const libc = openWithOptional((symbols) => ffi.dlopen(candidate.libc, symbols).functions, libcSymbols(platform));
  const shm = ffi.dlopen(candidate.shm ?? candidate.libc, shmSymbols).functions;
  return { libc, shm };
}

/** `node:ffi`, or undefined where this Node lacks it (before 26.1, or turned off by `--no-experimental-ffi`). */
export function nodeFfi(): NodeFfi | undefined {
  const process = (globalThis as unknown as {
    process: { getBuiltinModule?(id: string): unknown };
  }).process;
  // getBuiltinModule (Node 22.3+) is synchronous, so that importing the library stays synchronous.
  return process.getBuiltinModule?.("node:ffi") as NodeFfi | undefined;
}

/** A full collection where Node was started with `--expose-gc`; false where it cannot be asked for. */
function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") return false;
  gc();
  return true;
}

/** Opens the first library of `platform.libraries` that has every symbol (optional ones may be missing). */
export function bindNode(platform: Platform): RawLibc {
  const ffi = nodeFfi();
  if (!ffi) throw new Error("node:ffi is not available");
  let lastError: unknown;
  for (const candidate of platform.libraries) {
    let opened;
    try {
      opened = open(ffi, platform, candidate);
    } catch (error) {
      lastError = error;
      continue;
    }
    const { libc, shm } = opened;
    const {
      ftruncate,
      posix_fallocate: fallocate,
      fchmod,
      mmap,
      munmap,
      close,
      pipe2,
      write,
      read,
      sigaction,
      getppid,
      fcntl,
      getenv,
      setenv,
      clock_gettime,
    } = libc;
    const fstat = libc[platform.fstatSymbol];
    const errnoPointer = libc[platform.errnoSymbol]() as bigint;
    const { getInt32, toArrayBuffer, toString } = ffi;
    return {
      shm_open: (path, oflag, mode) => shm.shm_open(path, oflag, mode) as number,
      shm_unlink: (path) => shm.shm_unlink(path) as number,
      ftruncate: (fd, length) => ftruncate(fd, BigInt(length)) as number,
      posix_fallocate: fallocate && ((fd, length) => fallocate(fd, 0n, BigInt(length)) as number),
      fchmod: (fd, mode) => fchmod(fd, mode) as number,
      fstat: (fd, buf) => fstat(fd, buf) as number,
      mmap: (address, length, prot, flags, fd) => Number(mmap(BigInt(address), BigInt(length), prot, flags, fd, 0n)),
      munmap: (address, length) => munmap(BigInt(address), BigInt(length)) as number,
      close: (fd) => close(fd) as number,
      pipe2: pipe2 && ((fds, flags) => pipe2(fds, flags) as number),
      write: (fd, bytes) => Number(write(fd, bytes, BigInt(bytes.length))),
      read: (fd, buffer) => Promise.resolve(Number(read(fd, buffer, BigInt(buffer.length)))),
      sigaction: (signal, act, old) => sigaction(signal, act, old) as number,
      getppid: () => getppid() as number,
      fcntl: (fd, command, argument) => fcntl(fd, command, argument) as number,
      getenv: (name) => {
        const value = getenv(name) as bigint;
        return value === 0n ? null : toString(value);
      },
      setenv: (name, value, overwrite) => setenv(name, value, overwrite) as number,
      clock_gettime: (clock, timespec) => clock_gettime(clock, timespec) as number,
      errno: () => getInt32(errnoPointer, 0),
      arrayBuffer: (address: Address, offset: number, length: number) =>
        toArrayBuffer(BigInt(address + offset), length, false),
      // V8 on 64-bit makes ArrayBuffers of any size a mapping can have (5 GiB tried).
      maxArrayBufferBytes: Number.MAX_SAFE_INTEGER,
      // node:ffi's toArrayBuffer takes no deallocator: a forgotten mapping goes through the registry (src/mapping.ts).
      unmappingArrayBuffer: undefined,
      collectGarbage,
    };
  }
  throw lastError;
}
