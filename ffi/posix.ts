/**
 * Turns a runtime's raw binding into the `Libc` that `src/` uses and the `SystemCalls` of cleanup at
 * exit, applying the platform's constants once. The only place that reads errno.
 */
import type { Address, FileIdentity, Libc, RawLibc, SystemCalls } from "./libc.ts";
import type { Platform } from "./platforms.ts";

const encoder = new TextEncoder();

/** `/name` as a NUL-terminated C string. ASCII names (all automatic ones) skip TextEncoder, which costs
 * about 1 us a call in Deno. */
function cPath(name: string): Uint8Array {
  const path = new Uint8Array(name.length + 2);
  path[0] = 0x2f; // '/'
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (unit >= 0x80) return encoder.encode(`/${name}\0`);
    path[i + 1] = unit;
  }
  return path; // the last byte is already 0
}

/**
 * Runs `grow` (a call that sets a file's size, returning 0 or -errno) with SIGXFSZ ignored. Growing a
 * file past `ulimit -f` raises SIGXFSZ, whose default action kills the process (Deno: exit 153, with
 * the half-made segment left behind); ignored, the call fails with EFBIG instead, as it does in Bun
 * and CPython, which ignore SIGXFSZ for good. Here it is ignored only around the call, so the
 * program's own disposition (and what its children inherit) is what it was: one `sigaction` that
 * ignores and returns the old action, and a second that restores it unless it was ignored already.
 */
function withoutSigxfsz(raw: RawLibc, platform: Platform): (grow: () => number) => number {
  const ignore = new Uint8Array(platform.sigactionSize);
  new DataView(ignore.buffer).setBigUint64(0, BigInt(platform.SIG_IGN), true);
  const old = new Uint8Array(platform.sigactionSize);
  const oldView = new DataView(old.buffer);
  const SIG_IGN = BigInt(platform.SIG_IGN);
  return (grow) => {
    if (raw.sigaction(platform.SIGXFSZ, ignore, old) < 0) return grow();
    const result = grow(); // errno is read inside, before the restoring call can change it
    if (oldView.getBigUint64(0, true) !== SIG_IGN) raw.sigaction(platform.SIGXFSZ, old, null);
    return result;
  };
}

/** Wraps `raw` so that every failure returns `-errno`, read straight after the call. */
export function posixLibc(raw: RawLibc, platform: Platform): Libc {
  const statBuffer = new Uint8Array(platform.statSize);
  const stat = new DataView(statBuffer.buffer);
  const fail = (): number => -raw.errno();
  const growing = withoutSigxfsz(raw, platform);
  const { posix_fallocate } = raw;
  return {
    platform,
    maxArrayBufferBytes: raw.maxArrayBufferBytes,
    shmOpen(name: string, create: boolean, mode: number): number {
      const flags = create ? platform.O_CREAT | platform.O_EXCL | platform.O_RDWR : platform.O_RDWR;
      const fd = raw.shm_open(cPath(name), flags, mode);
      if (fd < 0) return fail();
      if (create && platform.modeIsVariadic && raw.fchmod(fd, mode) < 0) {
        const error = fail();
        raw.close(fd);
        raw.shm_unlink(cPath(name));
        return error;
      }
      return fd;
    },
    shmUnlink: (name: string) => raw.shm_unlink(cPath(name)) < 0 ? fail() : 0,
    ftruncate: (fd: number, size: number) => growing(() => raw.ftruncate(fd, size) < 0 ? fail() : 0),
    // posix_fallocate rather than fallocate(2): it is POSIX, and it returns the error number instead of
    // setting errno, so no read of errno can come too late. Mode 0 also sets the size.
    reserve: posix_fallocate && ((fd: number, size: number) => growing(() => -posix_fallocate(fd, size))),
    fstatSize(fd: number): number {
      if (raw.fstat(fd, statBuffer) < 0) return fail();
      return Number(stat.getBigInt64(platform.statSizeOffset, true));
    },
    fstatIdentity(fd: number): FileIdentity | number {
      if (raw.fstat(fd, statBuffer) < 0) return fail();
      return identityOf(stat, platform);
    },
    shmIdentity(name: string): FileIdentity | number {
      const fd = raw.shm_open(cPath(name), platform.O_RDONLY | platform.O_NONBLOCK, 0);
      if (fd < 0) return fail();
      const result = raw.fstat(fd, statBuffer) < 0 ? fail() : identityOf(stat, platform);
      raw.close(fd);
      return result;
    },
    mmap(length: number, fd: number): Address | number {
      const address = raw.mmap(0, length, platform.PROT_READ_WRITE, platform.MAP_SHARED, fd);
      return address === -1 ? fail() : address;
    },
    replaceWithZeros(address: Address, length: number): number {
      const flags = platform.MAP_PRIVATE | platform.MAP_ANONYMOUS | platform.MAP_FIXED | platform.MAP_NORESERVE;
      return raw.mmap(address, length, platform.PROT_READ_WRITE, flags, -1) === -1 ? fail() : 0;
    },
    munmap: (address: Address, length: number) => raw.munmap(address, length) < 0 ? fail() : 0,
    close: (fd: number) => raw.close(fd) < 0 ? fail() : 0,
    arrayBuffer: (address: Address, offset: number, length: number) => raw.arrayBuffer(address, offset, length),
    unmappingArrayBuffer: raw.unmappingArrayBuffer,
    collectGarbage: () => raw.collectGarbage(),
  };
}

/** The identity fields of the `struct stat` in `stat`. */
function identityOf(stat: DataView, platform: Platform): FileIdentity {
  const { devOffset, devBytes, inoOffset, ctimeOffset } = platform.statIdentity;
  const dev = devBytes === 8 ? Number(stat.getBigUint64(devOffset, true)) : stat.getUint32(devOffset, true);
  const seconds = stat.getBigInt64(ctimeOffset, true);
  const nanoseconds = stat.getBigInt64(ctimeOffset + 8, true);
  return {
    dev,
    ino: Number(stat.getBigUint64(inoOffset, true)),
    size: Number(stat.getBigInt64(platform.statSizeOffset, true)),
    ctimeNs: seconds * 1_000_000_000n + nanoseconds,
  };
}

/** An ASCII string as a NUL-terminated C string (environment names and values here are ASCII). */
function cString(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length + 1);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0x7f;
  return bytes;
}

/** The errno number of a POSIX code on `platform`. */
function errnoOf(platform: Platform, code: string): number {
  return Number(Object.keys(platform.errnoCodes).find((errno) => platform.errnoCodes[Number(errno)] === code));
}

/** Wraps `raw` for cleanup at exit: every failure returns `-errno`, read straight after the call. */
export function posixSystemCalls(raw: RawLibc, platform: Platform): SystemCalls {
  const fail = (): number => -raw.errno();
  const check = (result: number): number => result < 0 ? fail() : result;
  const EINTR = errnoOf(platform, "EINTR");
  const EINVAL = errnoOf(platform, "EINVAL");
  const { pipe2 } = raw;
  const timespec = new Uint8Array(16);
  const timespecView = new DataView(timespec.buffer);
  return {
    pipe: pipe2 && (() => {
      const fds = new Int32Array(2);
      return pipe2(fds, platform.O_CLOEXEC) < 0 ? fail() : [fds[0], fds[1]];
    }),
    write(fd, bytes) {
      for (;;) {
        const count = raw.write(fd, bytes);
        if (count >= 0) return count;
        const error = fail();
        if (error !== -EINTR) return error;
      }
    },
    read: (fd, buffer) => raw.read(fd, buffer),
    close: (fd) => check(raw.close(fd)),
    getppid: () => raw.getppid(),
    duplicateAbove: (fd, lowest, closeOnExec) =>
      check(raw.fcntl(fd, closeOnExec ? platform.F_DUPFD_CLOEXEC : platform.F_DUPFD, lowest)),
    growPipe: (fd, bytes) => platform.F_SETPIPE_SZ === 0 ? -EINVAL : check(raw.fcntl(fd, platform.F_SETPIPE_SZ, bytes)),
    setNonBlocking(fd) {
      const flags = raw.fcntl(fd, platform.F_GETFL, 0);
      if (flags < 0) return fail();
      return raw.fcntl(fd, platform.F_SETFL, flags | platform.O_NONBLOCK) < 0 ? fail() : 0;
    },
    getenv: (name) => raw.getenv(cString(name)) ?? undefined,
    setenv: (name, value, overwrite) => raw.setenv(cString(name), cString(value), overwrite ? 1 : 0) < 0 ? fail() : 0,
    fileClockNs() {
      raw.clock_gettime(platform.CLOCK_FILE_TIMES, timespec);
      return timespecView.getBigInt64(0, true) * 1_000_000_000n + timespecView.getBigInt64(8, true);
    },
    errnoOf: (code) => errnoOf(platform, code),
  };
}
