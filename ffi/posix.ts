/** Turns a runtime's raw binding into the `Libc` that `src/` uses, applying the platform's constants once. */
import type { Address, Libc, RawLibc } from "./libc.ts";
import type { Platform } from "./platforms.ts";

const encoder = new TextEncoder();

/** `/name` as a NUL-terminated C string. */
function cPath(name: string): Uint8Array {
  return encoder.encode(`/${name}\0`);
}

/** Wraps `raw` so that every failure returns `-errno`, read straight after the call. */
export function posixLibc(raw: RawLibc, platform: Platform): Libc {
  const statBuffer = new Uint8Array(platform.statSize);
  const stat = new DataView(statBuffer.buffer);
  const fail = (): number => -raw.errno();
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
    ftruncate: (fd: number, size: number) => raw.ftruncate(fd, size) < 0 ? fail() : 0,
    fstatSize(fd: number): number {
      if (raw.fstat(fd, statBuffer) < 0) return fail();
      return Number(stat.getBigInt64(platform.statSizeOffset, true));
    },
    mmap(length: number, fd: number): Address | number {
      const address = raw.mmap(length, platform.PROT_READ_WRITE, platform.MAP_SHARED, fd);
      return address === -1 ? fail() : address;
    },
    munmap: (address: Address, length: number) => raw.munmap(address, length) < 0 ? fail() : 0,
    close: (fd: number) => raw.close(fd) < 0 ? fail() : 0,
    arrayBuffer: (address: Address, offset: number, length: number) => raw.arrayBuffer(address, offset, length),
  };
}
