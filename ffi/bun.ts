/** libc through `bun:ffi`. Only `ffi/runtime.ts` imports this file, and only inside Bun. */
import type { Address, RawLibc } from "./libc.ts";
import type { LibraryCandidate, Platform } from "./platforms.ts";

/** The part of `bun:ffi` used here (Deno type-checks this file, so it is declared, not imported). */
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: readonly string[]; returns: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => number> };
  toArrayBuffer(address: number, byteOffset: number, byteLength: number): ArrayBuffer;
  read: { i32(address: number, byteOffset?: number): number };
}

/** `bun:ffi` is loaded synchronously, so that importing the library stays synchronous in both runtimes. */
function bunFfi(): BunFfi {
  return (import.meta as unknown as { require(id: string): BunFfi }).require("bun:ffi");
}

/** The symbol table, C prototypes beside each declaration. */
function libcSymbols(platform: Platform) {
  return {
    // int ftruncate(int fd, off_t length)
    ftruncate: { args: ["i32", "i64"], returns: "i32" },
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
  const libc = ffi.dlopen(candidate.libc, libcSymbols(platform)).symbols;
  const shm = ffi.dlopen(candidate.shm ?? candidate.libc, shmSymbols).symbols;
  return { libc, shm };
}

/** Bun cannot make an ArrayBuffer above 4 GiB (runtime-ffi-facts). */
const BUN_MAX_ARRAY_BUFFER = 2 ** 32;

/** Opens the first library of `platform.libraries` that has every symbol. */
export function bindBun(platform: Platform): RawLibc {
  const ffi = bunFfi();
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
    const fstat = libc[platform.fstatSymbol];
    const errnoAddress = libc[platform.errnoSymbol]();
    return {
      shm_open: (path, oflag, mode) => shm.shm_open(path, oflag, mode),
      shm_unlink: (path) => shm.shm_unlink(path),
      ftruncate: (fd, length) => libc.ftruncate(fd, length),
      fchmod: (fd, mode) => libc.fchmod(fd, mode),
      fstat: (fd, buf) => fstat(fd, buf),
      mmap: (length, prot, flags, fd) => Number(libc.mmap(null, length, prot, flags, fd, 0)),
      munmap: (address, length) => libc.munmap(address, length),
      close: (fd) => libc.close(fd),
      errno: () => ffi.read.i32(errnoAddress),
      arrayBuffer: (address: Address, offset: number, length: number) => ffi.toArrayBuffer(address, offset, length),
      maxArrayBufferBytes: BUN_MAX_ARRAY_BUFFER,
    };
  }
  throw lastError;
}
