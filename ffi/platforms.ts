/**
 * Every platform's constants, as data. Only linux-x86_64 (glibc) is tested on this project's machines;
 * the other rows were written from the platform headers (cited beside each value) and must be reviewed
 * against them before that platform is claimed as supported.
 */
import type { PlatformFacts } from "./libc.ts";

/** One platform: where libc is, its flag values, its `struct stat` layout, its errno numbers. */
export interface Platform extends PlatformFacts {
  /** Libraries to try, in order; the first that opens with every symbol wins (glibc before musl). */
  readonly libraries: readonly LibraryCandidate[];
  /** The symbol that returns the calling thread's `int *errno`. */
  readonly errnoSymbol: string;
  /** The symbol of `fstat` that fills the layout below (macOS x86-64 needs the 64-bit-inode one). */
  readonly fstatSymbol: string;
  readonly O_RDWR: number;
  readonly O_CREAT: number;
  readonly O_EXCL: number;
  readonly PROT_READ_WRITE: number;
  readonly MAP_SHARED: number;
  /** For `replaceWithZeros`: private anonymous pages at a fixed address, reserving no memory. */
  readonly MAP_PRIVATE: number;
  readonly MAP_ANONYMOUS: number;
  readonly MAP_FIXED: number;
  readonly MAP_NORESERVE: number;
  /** `sizeof(struct stat)` and `offsetof(struct stat, st_size)`; st_size is a little-endian int64. */
  readonly statSize: number;
  readonly statSizeOffset: number;
  /** macOS declares `shm_open(const char *, int, ...)`: a variadic `mode` cannot be passed through FFI
   * on arm64, so the mode is set with `fchmod` after creating. */
  readonly modeIsVariadic: boolean;
  /** The flag that makes both ends of a `pipe2` pipe close on exec (macOS has the flag but no `pipe2`). */
  readonly O_CLOEXEC: number;
  /** `sizeof(struct sigaction)`; its first field is `sa_handler`, a pointer-sized little-endian integer. */
  readonly sigactionSize: number;
  /** The `sa_handler` value that ignores a signal (SIGXFSZ, around sizing calls). */
  readonly SIG_IGN: number;
  /** The signal a file growing past `ulimit -f` raises (ignored around sizing calls: see `posix.ts`). */
  readonly SIGXFSZ: number;
  /** Where `dev`, `ino` and `ctime` sit in `struct stat`: a segment's identity (cleanup removes only its own). */
  readonly statIdentity: StatIdentityLayout;
  /** `O_RDONLY`, and `O_NONBLOCK` (for the watcher's pipe, and so that opening a FIFO planted under a name never blocks). */
  readonly O_RDONLY: number;
  readonly O_NONBLOCK: number;
  /** `fcntl` commands: read and set the file status flags; duplicate at or above a number (plain, close-on-exec). */
  readonly F_GETFL: number;
  readonly F_SETFL: number;
  readonly F_DUPFD: number;
  readonly F_DUPFD_CLOEXEC: number;
  /** `fcntl` command that sets a pipe's capacity (Linux only; 0 where there is none). */
  readonly F_SETPIPE_SZ: number;
  /** The clock the kernel stamps file times with (Linux: CLOCK_REALTIME_COARSE), for "made after" checks. */
  readonly CLOCK_FILE_TIMES: number;
  /** Waiting, waking and process-shared locks (issue 14); undefined where this library has no binding for them. */
  readonly sync?: SyncPlatform;
}

/** Offsets in `struct stat`: `st_dev` (`devBytes` wide), `st_ino` (8 bytes), `st_ctim` (two 8-byte fields: s, ns). */
export interface StatIdentityLayout {
  readonly devOffset: number;
  readonly devBytes: 4 | 8;
  readonly inoOffset: number;
  readonly ctimeOffset: number;
}

/**
 * The constants of waiting and waking across processes (`ffi/wait.ts`). `wait` says which kernel call
 * does it: Linux's futex system call, or macOS's `os_sync_wait_on_address` family (written from
 * <os/os_sync_wait_on_address.h>, macOS 14.4; not yet bound: no macOS machine to test it on).
 */
export type SyncPlatform = LinuxSync | DarwinSync;

/** Linux: <linux/futex.h>, <asm/unistd_64.h> (x86-64) / <asm-generic/unistd.h> (arm64), glibc's <pthread.h>. */
export interface LinuxSync extends PthreadConstants {
  readonly wait: "futex";
  /** `SYS_futex` and `SYS_futex_waitv` (Linux >= 5.16). */
  readonly SYS_futex: number;
  readonly SYS_futex_waitv: number;
  readonly FUTEX_WAIT: number;
  readonly FUTEX_WAKE: number;
  /** Or-ed into an op for a word that only this process maps (the waiting thread's control word). */
  readonly FUTEX_PRIVATE_FLAG: number;
  /** `struct futex_waitv` flags: a 32-bit word, and private to this process. */
  readonly FUTEX2_SIZE_U32: number;
  readonly FUTEX2_PRIVATE: number;
  /** The most words one `futex_waitv` call waits on. */
  readonly FUTEX_WAITV_MAX: number;
  /** The kernel's robust-futex bits in a robust mutex's lock word (<linux/futex.h>): waiters sleep on it; its owner died. */
  readonly FUTEX_WAITERS: number;
  readonly FUTEX_OWNER_DIED: number;
  readonly FUTEX_TID_MASK: number;
  readonly CLOCK_MONOTONIC: number;
  /**
   * `SYS_membarrier` (Linux >= 4.3; the expedited global commands >= 4.16) and the commands of
   * <linux/membarrier.h> that the channel's asymmetric fence uses (src/sync/fence.ts): QUERY returns the
   * mask of commands the kernel has; REGISTER_GLOBAL_EXPEDITED marks this process as one whose plain
   * stores the others' GLOBAL_EXPEDITED fences.
   */
  readonly SYS_membarrier: number;
  readonly MEMBARRIER_CMD_QUERY: number;
  readonly MEMBARRIER_CMD_GLOBAL_EXPEDITED: number;
  readonly MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: number;
  /**
   * Whether the CPU makes stores visible in program order and never lets a load pass an earlier load
   * (x86-64's TSO): then a plain store of a channel's tail publishes the record written before it, and
   * the fence is used; arm64 needs Atomics.store's ordering, and keeps it.
   */
  readonly storesInOrder: boolean;
}

/** macOS: the calls by name, and their flags. */
export interface DarwinSync extends PthreadConstants {
  readonly wait: "os_sync";
  /** `int os_sync_wait_on_address_with_timeout(void *addr, uint64_t value, size_t size, os_sync_wait_on_address_flags_t flags, os_clockid_t clockid, uint64_t timeout_ns)` */
  readonly waitSymbol: string;
  readonly waitWithTimeoutSymbol: string;
  /** `int os_sync_wake_by_address_any(void *addr, size_t size, os_sync_wake_by_address_flags_t flags)` and `_all`. */
  readonly wakeOneSymbol: string;
  readonly wakeAllSymbol: string;
  /** `OS_SYNC_WAIT_ON_ADDRESS_SHARED` / `OS_SYNC_WAKE_BY_ADDRESS_SHARED`: across processes. */
  readonly SHARED: number;
  readonly OS_CLOCK_MACH_ABSOLUTE_TIME: number;
}

/** What a process-shared, robust, error-checking `pthread_mutex_t` needs: its size and the numbers to make one. */
export interface PthreadConstants {
  /** `sizeof(pthread_mutex_t)` and `sizeof(pthread_mutexattr_t)`. */
  readonly mutexSize: number;
  readonly mutexAttrSize: number;
  readonly PTHREAD_MUTEX_ERRORCHECK: number;
  readonly PTHREAD_PROCESS_SHARED: number;
  /** 0 where the platform has no robust mutexes (macOS): a dead owner's mutex then stays locked. */
  readonly PTHREAD_MUTEX_ROBUST: number;
  /** The errno numbers the lock calls return. */
  readonly EOWNERDEAD: number;
  readonly ENOTRECOVERABLE: number;
  readonly EDEADLK: number;
  readonly ETIMEDOUT: number;
  readonly EBUSY: number;
  readonly EPERM: number;
  readonly EAGAIN: number;
  readonly EINTR: number;
}

/** A library file and, where shm_open/shm_unlink live elsewhere (glibc before 2.34), that file. */
export interface LibraryCandidate {
  readonly libc: string;
  readonly shm?: string;
}

// errno numbers 1-34 come from Version 7 Unix and are the same on Linux and macOS
// (<asm-generic/errno-base.h>, macOS <sys/errno.h>); only the later ones differ.
const UNIX_ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  8: "ENOEXEC",
  9: "EBADF",
  10: "ECHILD",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  15: "ENOTBLK",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  25: "ENOTTY",
  26: "ETXTBSY",
  27: "EFBIG",
  28: "ENOSPC",
  29: "ESPIPE",
  30: "EROFS",
  31: "EMLINK",
  32: "EPIPE",
  33: "EDOM",
  34: "ERANGE",
};

// <asm-generic/errno-base.h>, <asm-generic/errno.h>: the same numbers on x86-64 and arm64 Linux.
const LINUX_ERRNO: Record<number, string> = {
  ...UNIX_ERRNO,
  11: "EAGAIN",
  36: "ENAMETOOLONG",
  37: "ENOLCK",
  38: "ENOSYS",
  39: "ENOTEMPTY",
  40: "ELOOP",
  75: "EOVERFLOW",
  95: "EOPNOTSUPP",
  110: "ETIMEDOUT",
  122: "EDQUOT",
  125: "ECANCELED",
  130: "EOWNERDEAD",
};

// <sys/errno.h> of macOS.
const DARWIN_ERRNO: Record<number, string> = {
  ...UNIX_ERRNO,
  35: "EAGAIN",
  45: "ENOTSUP",
  60: "ETIMEDOUT",
  62: "ELOOP",
  63: "ENAMETOOLONG",
  66: "ENOTEMPTY",
  69: "EDQUOT",
  77: "ENOLCK",
  78: "ENOSYS",
  84: "EOVERFLOW",
  89: "ECANCELED",
  102: "EOPNOTSUPP",
  105: "EOWNERDEAD",
};

// Linux <asm-generic/fcntl.h> (x86-64 and arm64 agree), <asm-generic/mman-common.h>, <linux/limits.h>
// NAME_MAX 255 for the file under /dev/shm, <asm-generic/signal.h> and <asm-generic/signal-defs.h>.
// `struct sigaction` of glibc and musl, x86-64 and arm64: handler 8, sa_mask 128, sa_flags 4, pad 4,
// sa_restorer 8 -> 152 bytes (checked with sizeof on glibc x86-64).
const LINUX = {
  errnoSymbol: "__errno_location",
  fstatSymbol: "fstat",
  O_RDWR: 0o2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  PROT_READ_WRITE: 0x1 | 0x2,
  MAP_SHARED: 0x01,
  MAP_PRIVATE: 0x02,
  MAP_ANONYMOUS: 0x20,
  MAP_FIXED: 0x10,
  MAP_NORESERVE: 0x4000,
  maxNameBytes: 255,
  errnoCodes: LINUX_ERRNO,
  modeIsVariadic: false,
  O_CLOEXEC: 0o2000000,
  sigactionSize: 152,
  SIG_IGN: 1,
  SIGXFSZ: 25,
  // <asm-generic/fcntl.h>, <linux/time.h> CLOCK_REALTIME_COARSE (what current_time() stamps inodes with)
  O_RDONLY: 0,
  O_NONBLOCK: 0o4000,
  F_GETFL: 3,
  F_SETFL: 4,
  F_DUPFD: 0,
  F_DUPFD_CLOEXEC: 1030,
  F_SETPIPE_SZ: 1031,
  CLOCK_FILE_TIMES: 5,
} as const;

// <linux/futex.h>; glibc <bits/pthreadtypes-arch.h>, <pthread.h>; <asm-generic/errno.h>. Checked with sizeof and
// the macros on glibc x86-64. The syscall numbers differ per CPU and are added below.
const LINUX_SYNC = {
  wait: "futex",
  SYS_futex_waitv: 449,
  FUTEX_WAIT: 0,
  FUTEX_WAKE: 1,
  FUTEX_PRIVATE_FLAG: 128,
  FUTEX2_SIZE_U32: 0x02,
  FUTEX2_PRIVATE: 128,
  FUTEX_WAITV_MAX: 128,
  FUTEX_WAITERS: 0x80000000,
  FUTEX_OWNER_DIED: 0x40000000,
  FUTEX_TID_MASK: 0x3fffffff,
  CLOCK_MONOTONIC: 1,
  MEMBARRIER_CMD_QUERY: 0,
  MEMBARRIER_CMD_GLOBAL_EXPEDITED: 2,
  MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: 4,
  mutexAttrSize: 4,
  PTHREAD_MUTEX_ERRORCHECK: 2,
  PTHREAD_PROCESS_SHARED: 1,
  PTHREAD_MUTEX_ROBUST: 1,
  EOWNERDEAD: 130,
  ENOTRECOVERABLE: 131,
  EDEADLK: 35,
  ETIMEDOUT: 110,
  EBUSY: 16,
  EPERM: 1,
  EAGAIN: 11,
  EINTR: 4,
} as const;

// macOS <sys/fcntl.h>, <sys/mman.h>, PSHMNAMLEN 31 in <sys/posix_shm.h> counts the leading '/',
// <sys/signal.h>: `struct sigaction` is sa_handler 8, sa_mask 4 (a 32-bit sigset_t), sa_flags 4 -> 16 bytes.
const DARWIN = {
  libraries: [{ libc: "/usr/lib/libSystem.B.dylib" }],
  errnoSymbol: "__error",
  O_RDWR: 0x0002,
  O_CREAT: 0x0200,
  O_EXCL: 0x0800,
  PROT_READ_WRITE: 0x1 | 0x2,
  MAP_SHARED: 0x0001,
  MAP_PRIVATE: 0x0002,
  MAP_ANONYMOUS: 0x1000,
  MAP_FIXED: 0x0010,
  MAP_NORESERVE: 0x0040,
  maxNameBytes: 30,
  errnoCodes: DARWIN_ERRNO,
  modeIsVariadic: true,
  O_CLOEXEC: 0x01000000,
  sigactionSize: 16,
  SIG_IGN: 1,
  SIGXFSZ: 25,
  // struct stat with 64-bit inodes: dev 4, mode 2, nlink 2, ino 8, uid 4, gid 4, rdev 4, pad 4,
  // four timespecs 64 -> st_size at 96; 144 bytes in all.
  statSize: 144,
  statSizeOffset: 96,
  statIdentity: { devOffset: 0, devBytes: 4, inoOffset: 8, ctimeOffset: 64 },
  // <sys/fcntl.h>, <time.h> (no coarse clock: CLOCK_REALTIME)
  O_RDONLY: 0,
  O_NONBLOCK: 0x0004,
  F_GETFL: 3,
  F_SETFL: 4,
  F_DUPFD: 0,
  F_DUPFD_CLOEXEC: 67,
  F_SETPIPE_SZ: 0,
  CLOCK_FILE_TIMES: 0,
  // <os/os_sync_wait_on_address.h>, <sys/_pthread/_pthread_types.h> (__PTHREAD_MUTEX_SIZE__ 56 + the 8-byte
  // signature), <pthread.h>, <sys/errno.h>. macOS has no robust mutexes.
  sync: {
    wait: "os_sync",
    waitSymbol: "os_sync_wait_on_address",
    waitWithTimeoutSymbol: "os_sync_wait_on_address_with_timeout",
    wakeOneSymbol: "os_sync_wake_by_address_any",
    wakeAllSymbol: "os_sync_wake_by_address_all",
    SHARED: 1,
    OS_CLOCK_MACH_ABSOLUTE_TIME: 32,
    mutexSize: 64,
    mutexAttrSize: 16,
    PTHREAD_MUTEX_ERRORCHECK: 1,
    PTHREAD_PROCESS_SHARED: 1,
    PTHREAD_MUTEX_ROBUST: 0,
    EOWNERDEAD: 105,
    ENOTRECOVERABLE: 104,
    EDEADLK: 11,
    ETIMEDOUT: 60,
    EBUSY: 16,
    EPERM: 1,
    EAGAIN: 35,
    EINTR: 4,
  },
} as const;

/** The table: `${os}-${arch}` -> the platform. */
export const PLATFORMS: Readonly<Record<string, Platform>> = {
  // x86-64 `struct stat` (arch/x86/include/uapi/asm/stat.h): dev 8, ino 8, nlink 8, mode 4, uid 4,
  // gid 4, pad 4, rdev 8 -> st_size at 48; 144 bytes. glibc and musl use the kernel's layout.
  "linux-x86_64": {
    ...LINUX,
    id: "linux-x86_64",
    libraries: [
      { libc: "libc.so.6" },
      { libc: "libc.so.6", shm: "librt.so.1" },
      { libc: "libc.musl-x86_64.so.1" },
      { libc: "/lib/ld-musl-x86_64.so.1" },
    ],
    statSize: 144,
    statSizeOffset: 48,
    // ... nlink 8, mode 4, uid 4, gid 4, pad 4, rdev 8, size 8, blksize 8, blocks 8 -> st_atim at 72, st_ctim at 104
    statIdentity: { devOffset: 0, devBytes: 8, inoOffset: 8, ctimeOffset: 104 },
    sync: { ...LINUX_SYNC, SYS_futex: 202, SYS_membarrier: 324, storesInOrder: true, mutexSize: 40 },
  },
  // arm64 uses <asm-generic/stat.h>: dev 8, ino 8, mode 4, nlink 4, uid 4, gid 4, rdev 8, pad 8
  // -> st_size at 48; 128 bytes.
  "linux-aarch64": {
    ...LINUX,
    id: "linux-aarch64",
    libraries: [
      { libc: "libc.so.6" },
      { libc: "libc.so.6", shm: "librt.so.1" },
      { libc: "libc.musl-aarch64.so.1" },
      { libc: "/lib/ld-musl-aarch64.so.1" },
    ],
    statSize: 128,
    statSizeOffset: 48,
    // ... size 8, blksize 4, pad 4, blocks 8 -> st_atim at 72, st_ctim at 104
    statIdentity: { devOffset: 0, devBytes: 8, inoOffset: 8, ctimeOffset: 104 },
    // arm64 glibc's pthread_mutex_t is 48 bytes (__SIZEOF_PTHREAD_MUTEX_T), its attr 8
    sync: {
      ...LINUX_SYNC,
      SYS_futex: 98,
      SYS_membarrier: 283,
      storesInOrder: false,
      mutexSize: 48,
      mutexAttrSize: 8,
    },
  },
  // x86-64 macOS: plain `fstat` is the 32-bit-inode one; `fstat$INODE64` fills the layout above.
  "darwin-x86_64": { ...DARWIN, id: "darwin-x86_64", fstatSymbol: "fstat$INODE64" },
  "darwin-aarch64": { ...DARWIN, id: "darwin-aarch64", fstatSymbol: "fstat" },
};

/** The platform for an OS and CPU as the runtime names them (`linux`/`darwin`, `x86_64`/`x64`/`arm64`/`aarch64`). */
export function platformFor(os: string, arch: string): Platform | undefined {
  const cpu = arch === "x64" ? "x86_64" : arch === "arm64" ? "aarch64" : arch;
  return PLATFORMS[`${os}-${cpu}`];
}
