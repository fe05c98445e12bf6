/**
 * The seed example's child in Deno, Bun or Node: attaches to the array whose descriptor (JSON) is its last
 * argument, and doubles every element in place. Any parent (parent.ts, parent.py) can run it.
 *
 *   deno run --allow-ffi examples/seed/child.ts '{"name":"psm_1a2b3c4d","dtype":"int64","shape":[5],"offset":0}'
 */
import process from "node:process";
import { SharedArray } from "../../mod.ts";

// attaching never unlinks: `using` only closes this process's mapping; the parent owns the segment
using numbers = SharedArray.attach(process.argv[process.argv.length - 1], { dtype: "int64" });
for (let i = 0; i < numbers.size; i++) numbers.data[i] *= 2n;
