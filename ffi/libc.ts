/**
 * The small slice of libc this library needs, in two layers.
 *
 * `RawLibc` is what a runtime binding (`deno.ts`, `bun.ts`) provides: the C functions exactly as
 * declared, with numbers and byte arrays in and out, plus errno. `Libc` is what `src/` sees: the same
 * calls with the platform's flags, `struct stat` layout and quirks applied once (`posix.ts`), following
 * the kernel's convention: a result `>= 0` is success and a negative result is `-errno`, read right
 * after the failing call (runtime-ffi-facts: JS work in between, a GC in Deno, can overwrite errno).
 * No pointer type of any runtime leaks out of `ffi/`: an address is a plain number (user-space
 * addresses fit in 2^53).
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
  /** `int fchmod(int fd, mode_t mode)` */
  fchmod(fd: number, mode: number): number;
  /** `int fstat(int fd, struct stat *buf)` */
  fstat(fd: number, buf: Uint8Array): number;
  /** `void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)`, addr NULL, offset 0; -1 is MAP_FAILED. */
  mmap(length: number, prot: number, flags: number, fd: number): Address;
  /** `int munmap(void *addr, size_t length)` */
  munmap(address: Address, length: number): number;
  /** `int close(int fd)` */
  close(fd: number): number;
  /** The calling thread's errno, read through the pointer cached from `__errno_location()` / `__error()`. */
  errno(): number;
  /** A new ArrayBuffer over `length` bytes at `address + offset`, no copy. */
  arrayBuffer(address: Address, offset: number, length: number): ArrayBuffer;
  /** The largest ArrayBuffer this runtime can make, in bytes. */
  readonly maxArrayBufferBytes: number;
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
  /** Sets the size: 0 or -errno. */
  ftruncate(fd: number, size: number): number;
  /** The size in bytes (`st_size`), or -errno. */
  fstatSize(fd: number): number;
  /** Maps `length` bytes of `fd` shared and read-write: the address, or -errno. */
  mmap(length: number, fd: number): Address | number;
  /** 0 or -errno. */
  munmap(address: Address, length: number): number;
  /** 0 or -errno. */
  close(fd: number): number;
  /** A new ArrayBuffer over `length` bytes at `address + offset`, no copy. */
  arrayBuffer(address: Address, offset: number, length: number): ArrayBuffer;
}
