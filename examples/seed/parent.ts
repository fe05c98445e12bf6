/**
 * The seed example with Deno, Bun or Node as the parent and any child: the parent puts the int64 array
 * `[1, 2, 3, 4, 5]` in a new shared memory segment, runs the child command given as arguments with the
 * array's descriptor (JSON) appended, and prints the array the child doubled in place: `[2, 4, 6, 8, 10]`.
 *
 *   deno run --allow-ffi --allow-run --allow-env examples/seed/parent.ts bun run examples/seed/child.ts
 *   bun run examples/seed/parent.ts python3 examples/seed/child.py
 *   node examples/seed/parent.ts deno run --allow-ffi examples/seed/child.ts
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { SharedArray } from "../../mod.ts";

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  console.error(
    "usage: parent.ts CHILD-COMMAND [ARGS...]   (the child gets the array's descriptor as its last argument)",
  );
  process.exit(2);
}

// `using`: the segment is closed and unlinked at the end of the script, whatever the child did
using numbers = SharedArray.from([1n, 2n, 3n, 4n, 5n]);
const child = spawnSync(command, [...args, JSON.stringify(numbers.descriptor)], { stdio: "inherit" });
if (child.status !== 0) throw new Error(`${command} exited with ${child.status ?? child.signal ?? child.error}`);
console.log(`${numbers}`);
