/** A list made in one runtime is read and changed from a child in each runtime (Deno, Bun and Node). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ListValue, ShareableList } from "../mod.ts";
import { runScript, RUNTIMES } from "./helpers/processes.ts";
import { segmentExists } from "./helpers/segments.ts";
import { tag, type Tagged, untag } from "./fixtures/list_peer.ts";

const VALUES: ListValue[] = [1, 2.5, true, null, "héllo wörld", new Uint8Array([1, 2]), -(2n ** 60n), ""];

for (const runtime of RUNTIMES) {
  test(`a list made here is read and changed by a ${runtime} child, and the change is seen here`, () => {
    let name = "";
    {
      using list = new ShareableList(VALUES);
      name = list.shm.name;
      const printed = runScript(runtime, "tests/fixtures/list_child.ts", [
        name,
        "4",
        JSON.stringify(tag(`from ${runtime}`)),
      ]);
      assert.deepEqual((JSON.parse(printed) as Tagged[]).map(untag), VALUES);
      assert.equal(list.get(4), `from ${runtime}`);
      assert.deepEqual(list.toArray().slice(0, 4), VALUES.slice(0, 4));
    }
    assert.equal(segmentExists(name), false);
  });
}
