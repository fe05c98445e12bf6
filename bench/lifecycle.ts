/**
 * Benchmark 1: create a 4 KiB segment, touch one byte, close, unlink; and attach to an existing
 * segment and close. The library's default (`track` on) and `track: false` are separate rows.
 *
 * A third row of each (variant `raw FFI`) makes the same system calls as the C baseline straight
 * through the library's libc binding, with no class, no random name and no bookkeeping: the part of
 * the gap to C that belongs to the runtime (its FFI, its ArrayBuffers, its threads) and not to the
 * library.
 */
import { libc } from "../ffi/runtime.ts";
import { SharedMemory } from "../mod.ts";
import type { Config } from "./config.ts";
import { benchName, check, emit, IMPL, log, microPolicy, time } from "./harness.ts";

/** The C baseline's create, step by step, through ffi/: shm_open, ftruncate, mmap, close; touch; munmap, shm_unlink. */
function rawCreate(name: string, size: number): void {
  const c = libc();
  const fd = c.shmOpen(name, true, 0o600);
  check(fd >= 0, `shm_open: ${fd}`);
  try {
    check(c.ftruncate(fd, size) === 0, "ftruncate");
    const address = c.mmap(size, fd);
    check(address >= 0, "mmap");
    c.close(fd);
    const buffer = c.arrayBuffer(address, 0, size);
    new Uint8Array(buffer)[0] = 1;
    (buffer as unknown as { transfer(length: number): ArrayBuffer }).transfer(0);
    c.munmap(address, size);
  } finally {
    c.shmUnlink(name);
  }
}

/** The C baseline's attach through ffi/: shm_open, fstat, mmap, close; munmap. */
function rawAttach(name: string): void {
  const c = libc();
  const fd = c.shmOpen(name, false, 0o600);
  check(fd >= 0, `shm_open: ${fd}`);
  const size = c.fstatSize(fd);
  const address = c.mmap(size, fd);
  c.close(fd);
  check(address >= 0, "mmap");
  c.munmap(address, size);
}

/** The rows: the option each create row passes. */
const CREATE_VARIANTS: { variant?: string; options: { track?: boolean } }[] = [
  { options: {} },
  { variant: "track: false", options: { track: false } },
];

export async function run(config: Config): Promise<void> {
  const size = config.segment_bytes;
  for (const { variant, options } of CREATE_VARIANTS) {
    let created = 0;
    let unlinked = 0;
    log(`create ${size} B + touch + close + unlink${variant ? ` (${variant})` : ""}`);
    const stats = await time(() => {
      const shm = new SharedMemory({ create: true, size, ...options });
      created++;
      try {
        shm.buf[0] = 1;
        shm.close();
      } finally {
        shm.unlink();
        unlinked++;
      }
    }, microPolicy(config));
    check(created === unlinked, `${created} segments created, ${unlinked} unlinked`);
    emit({ bench: "lifecycle", op: "create", impl: IMPL, variant, unit: "op", ...stats });
  }

  log(`create (raw FFI)`);
  const raw = await time(() => rawCreate(benchName("raw"), size), microPolicy(config));
  emit({ bench: "lifecycle", op: "create", impl: IMPL, variant: "raw FFI", unit: "op", ...raw });

  log(`attach + close`);
  const owner = new SharedMemory({ name: benchName("attach"), create: true, size });
  try {
    owner.buf[0] = 7;
    const name = owner.name;
    const stats = await time(() => {
      const shm = new SharedMemory({ name });
      shm.close();
    }, microPolicy(config));
    const probe = new SharedMemory({ name });
    const seen = probe.buf[0];
    probe.close();
    check(seen === 7, "an attached handle sees the owner's byte");
    emit({ bench: "lifecycle", op: "attach", impl: IMPL, unit: "op", ...stats });
    log(`attach (raw FFI)`);
    const raw = await time(() => rawAttach(name), microPolicy(config));
    emit({ bench: "lifecycle", op: "attach", impl: IMPL, variant: "raw FFI", unit: "op", ...raw });
  } finally {
    owner.close();
    owner.unlink();
  }
}
