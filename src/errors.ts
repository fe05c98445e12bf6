/** The one error class for a failed system call, and how an errno becomes a message a person understands. */
import { libc } from "../ffi/runtime.ts";

/** The system call that failed. */
export type Syscall =
  | "shm_open"
  | "shm_unlink"
  | "ftruncate"
  | "posix_fallocate"
  | "fstat"
  | "mmap"
  | "munmap"
  | "close";

/** A system call on a shared memory segment failed. `code` is the POSIX name of `errno`. */
export class SharedMemoryError extends Error {
  /** The POSIX error code, such as `ENOENT` or `EEXIST` (`E<number>` for an errno the table lacks). */
  readonly code: string;
  /** The platform's errno number. */
  readonly errno: number;
  /** The system call that failed. */
  readonly syscall: Syscall;
  /** The segment's name, without the leading `/`. */
  readonly segment: string;

  /** Made by the library for a failed call; `message` defaults to a sentence built from the code. */
  constructor(code: string, errno: number, syscall: Syscall, segment: string, message?: string) {
    super(message ?? describe(code, syscall, segment));
    this.name = "SharedMemoryError";
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.segment = segment;
  }
}

/** What each code means for a segment, where a plainer sentence than `<syscall> failed` helps. */
const SENTENCES: Readonly<Record<string, (segment: string, syscall: Syscall) => string>> = {
  ENOENT: (s) => `no shared memory segment named '${s}'`,
  EEXIST: (s) => `a shared memory segment named '${s}' already exists`,
  EACCES: (s, c) => `permission denied to ${c === "shm_unlink" ? "remove" : "open"} shared memory segment '${s}'`,
  ENAMETOOLONG: (s) => `shared memory segment name '${s}' is too long for this system`,
  ENOSPC: (s) =>
    `no space left for shared memory segment '${s}' (is /dev/shm full? a container's is 64 MiB by default)`,
  ENOMEM: (s, c) =>
    c === "mmap"
      ? `no room to map shared memory segment '${s}': this process has reached the kernel's limit on mappings ` +
        "(vm.max_map_count) or its address-space limit (ulimit -v). close() handles you no longer need, or make them " +
        "with `using`: the garbage collector frees forgotten ones late, and cannot free them during a synchronous loop"
      : `out of memory while sizing shared memory segment '${s}'`,
  ELOOP: (s) => `shared memory segment name '${s}' is a symbolic link, which shm_open refuses to follow`,
  ENXIO: (s) => `'${s}' in the shared memory directory is not a segment (a socket or a device?)`,
  EMFILE: (s) => `too many open files in this process to open shared memory segment '${s}'`,
  ENFILE: (s) => `too many open files on this system to open shared memory segment '${s}'`,
  EFBIG: (s) => `shared memory segment '${s}' would be larger than this system allows`,
};

function describe(code: string, syscall: Syscall, segment: string): string {
  const sentence = SENTENCES[code]?.(segment, syscall) ?? `${syscall} failed on shared memory segment '${segment}'`;
  return `${sentence} (${code})`;
}

/** The error for a call that returned `-errno`. */
export function errorFromErrno(negativeErrno: number, syscall: Syscall, segment: string): SharedMemoryError {
  const errno = -negativeErrno;
  const code = libc().platform.errnoCodes[errno] ?? `E${errno}`;
  return new SharedMemoryError(code, errno, syscall, segment);
}
