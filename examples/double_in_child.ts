/**
 * The seed example: a parent fills five int64s in a new shared memory segment, a child process of the
 * same runtime attaches by name and doubles them in place, and the parent prints `[2, 4, 6, 8, 10]`.
 *
 *   deno run --allow-ffi --allow-run --allow-read --allow-env examples/double_in_child.ts
 *   bun run examples/double_in_child.ts
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { SharedMemory } from "../mod.ts";

const [childOf] = process.argv.slice(2);

if (childOf) {
  // The child: attach by name, double in place, close (the parent owns the segment).
  using shm = new SharedMemory({ name: childOf });
  const numbers = new BigInt64Array(shm.buf.buffer, 0, 5);
  for (let i = 0; i < numbers.length; i++) numbers[i] *= 2n;
} else {
  // The parent: create, fill, run the child, print; `using` closes and unlinks at the end of the block.
  using shm = new SharedMemory({ create: true, size: 5 * 8 });
  const numbers = new BigInt64Array(shm.buf.buffer, 0, 5);
  numbers.set([1n, 2n, 3n, 4n, 5n]);

  const runtimeArgs = "Deno" in globalThis ? ["run", "--allow-ffi"] : ["run"];
  const child = spawnSync(process.execPath, [...runtimeArgs, import.meta.filename ?? "", shm.name], {
    stdio: "inherit",
  });
  if (child.status !== 0) throw new Error(`the child exited with ${child.status ?? child.signal}`);

  console.log(`[${numbers.join(", ")}]`);
}
