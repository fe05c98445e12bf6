/**
 * The seed example: a parent puts the int64 array `[1, 2, 3, 4, 5]` in a new shared memory segment, a
 * child process of the same runtime attaches by the array's descriptor and doubles it in place, and the
 * parent prints `[2, 4, 6, 8, 10]`. (examples/seed/ has the same with Deno, Bun or Python on either side.)
 *
 *   deno run --allow-ffi --allow-run --allow-env examples/double_in_child.ts
 *   bun run examples/double_in_child.ts
 *   node examples/double_in_child.ts
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { SharedArray } from "../mod.ts";

const [descriptor] = process.argv.slice(2);

if (descriptor) {
  // The child: attach by descriptor, double in place, close (the parent owns the segment).
  using numbers = SharedArray.attach(descriptor, { dtype: "int64" });
  for (let i = 0; i < numbers.size; i++) numbers.data[i] *= 2n;
} else {
  // The parent: create, run the child, print; `using` closes and unlinks at the end of the block.
  using numbers = SharedArray.from([1n, 2n, 3n, 4n, 5n]);

  // Node's child gets the parent's own flags (such as --experimental-ffi) before the script.
  const runtimeArgs = "Deno" in globalThis ? ["run", "--allow-ffi"] : "Bun" in globalThis ? ["run"] : process.execArgv;
  const child = spawnSync(process.execPath, [...runtimeArgs, import.meta.filename ?? "", JSON.stringify(numbers)], {
    stdio: "inherit",
  });
  if (child.status !== 0) throw new Error(`the child exited with ${child.status ?? child.signal}`);

  console.log(`${numbers}`);
}
