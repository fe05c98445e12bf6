/**
 * Benchmark 2: sequential writes and reads of `rw_bytes` through a view of a shared memory mapping
 * ("shm") versus the same through an ordinary ArrayBuffer ("private"), and the cost of the first
 * touch of each page of fresh memory.
 */
import { SharedMemory } from "../mod.ts";
import type { Config } from "./config.ts";
import { benchName, check, emit, IMPL, log, sample, time } from "./harness.ts";

let round = 0;

/** The operations, the same in every language: fill (memset), a write loop and a read loop of int32s. */
const OPERATIONS: Record<string, (bytes: Uint8Array) => unknown> = {
  fill(bytes) {
    return bytes.fill(++round & 255);
  },
  write(bytes) {
    const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
    const base = ++round;
    for (let i = 0; i < words.length; i++) words[i] = (i + base) | 0;
  },
  read(bytes) {
    const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
    let sum = 0;
    for (let i = 0; i < words.length; i++) sum = (sum + words[i]) | 0;
    return sum;
  },
};

const PAGE = 4096;

function touchEveryPage(bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.length; offset += PAGE) bytes[offset] = 1;
}

export async function run(config: Config): Promise<void> {
  const size = config.rw_bytes;
  const shm = new SharedMemory({ name: benchName("rw"), create: true, size });
  try {
    const backings: Record<string, Uint8Array> = { shm: shm.buf, private: new Uint8Array(size) };
    for (const bytes of Object.values(backings)) bytes.fill(0); // every page present before timing
    // Compile every operation on both backings before timing either, so neither is timed colder.
    for (const operation of Object.values(OPERATIONS)) for (const bytes of Object.values(backings)) operation(bytes);
    for (const [name, operation] of Object.entries(OPERATIONS)) {
      for (const [backing, bytes] of Object.entries(backings)) {
        log(`${name} ${size} B (${backing})`);
        const stats = await time(() => operation(bytes), { minSamples: config.rw_samples, minTimeMs: 0, batch: 1 });
        emit({ bench: "memory", op: `${name}/${backing}`, impl: IMPL, unit: "op", bytes: size, ...stats });
      }
    }
    for (const bytes of Object.values(backings)) {
      round = 40;
      OPERATIONS.write(bytes);
    }
    check(OPERATIONS.read(backings.shm) === OPERATIONS.read(backings.private), "both backings hold the same words");
  } finally {
    shm.close();
    shm.unlink();
  }

  const pages = config.touch_bytes / PAGE;
  const touchPolicy = { minSamples: config.rw_samples, minTimeMs: 0 };
  log(`new segment + first touch of ${pages} pages`);
  const fresh: SharedMemory[] = [];
  try {
    const stats = await sample(touchPolicy, () => {}, () => {
      const segment = new SharedMemory({ name: benchName("touch"), create: true, size: config.touch_bytes });
      fresh.push(segment);
      touchEveryPage(segment.buf);
    }, () => {
      for (const segment of fresh.splice(0)) segment[Symbol.dispose]();
    }, pages);
    emit({ bench: "memory", op: "touch/shm", impl: IMPL, unit: "page", ...stats });
  } finally {
    for (const segment of fresh) segment[Symbol.dispose]();
  }

  log(`new ArrayBuffer + first touch of ${pages} pages`);
  const stats = await sample(
    touchPolicy,
    () => {},
    () => touchEveryPage(new Uint8Array(config.touch_bytes)),
    () => {},
    pages,
  );
  emit({ bench: "memory", op: "touch/private", impl: IMPL, unit: "page", ...stats });
}
