/**
 * A ShareableList shared with Python: this process makes a list, a python3 child attaches to it by
 * name, prints it and changes two items, and this process prints what Python wrote.
 *
 *   deno run --allow-ffi --allow-run --allow-env examples/shareable_list.ts
 *   bun run examples/shareable_list.ts
 *   node examples/shareable_list.ts
 *
 * Needs python3 (3.8 or later) on PATH.
 */
import { spawnSync } from "node:child_process";
import { ShareableList } from "../mod.ts";

// The Python side. CPython before 3.13 registers a segment it merely attaches to with its resource
// tracker, which would unlink it when the child exits: unregister it, this process owns the list.
const PYTHON = `
import sys
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import ShareableList
shared = ShareableList(name=sys.argv[1])
resource_tracker.unregister(shared.shm._name, "shared_memory")
print("python sees:", shared)
shared[0] = shared[0] * 2
shared[4] = "from python"
shared.shm.close()
`;

// `using`: closed and unlinked at the end of the block, even if the child fails.
using list = new ShareableList([21, 2.5, true, null, "héllo wörld", new Uint8Array([0x61, 0x62])]);
console.log("typescript made:", String(list));

const child = spawnSync("python3", ["-c", PYTHON, list.shm.name], { stdio: "inherit" });
if (child.status !== 0) throw new Error(`python3 exited with ${child.status ?? child.signal}`);

console.log("typescript sees:", list.toArray());
