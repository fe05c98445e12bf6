/** Bytes written in one process are seen by another, for every pair of Deno, Bun, Node and python3. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SharedMemory } from "../mod.ts";
import { PYTHON, ROOT, runOk, type Runtime, RUNTIMES, scriptCommand } from "./helpers/processes.ts";
import { toHex } from "./helpers/hex.ts";
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";

type Kind = Runtime | "python3";
const KINDS: Kind[] = [...RUNTIMES, "python3"];

function child(kind: Kind, args: string[]): string {
  const command = kind === "python3"
    ? [PYTHON, `${ROOT}tests/fixtures/segment_child.py`, ...args, ...Array(4 - args.length).fill("")]
    : scriptCommand(kind, "tests/fixtures/segment_child.ts", args);
  return runOk(command);
}

const randomHex = (bytes: number) => toHex(crypto.getRandomValues(new Uint8Array(bytes)));

for (const creator of KINDS) {
  for (const reader of KINDS) {
    test(`a segment ${creator} creates and writes is read by ${reader}, and ${reader}'s writes reach ${creator}`, () => {
      const name = uniqueName(`${creator}_${reader}`.replace("python3", "py"));
      const first = randomHex(32);
      const second = randomHex(16);
      try {
        child(creator, ["create", name, "4096", first]);
        assert.equal(child(reader, ["read", name, "0", "32"]), `${first} 4096`);
        child(reader, ["write", name, "4000", second]);
        assert.equal(child(creator, ["read", name, "4000", "16"]), `${second} 4096`);
        assert.ok(segmentExists(name), "the segment outlives the children that attached to it");
      } finally {
        removeIfPresent(name);
      }
    });
  }
}

for (const kind of KINDS) {
  test(`${kind} attaches to a segment this process created and changes it in place`, () => {
    using shm = new SharedMemory({ create: true, size: 64 });
    shm.buf.set([1, 2, 3, 4]);
    assert.equal(child(kind, ["read", shm.name, "0", "4"]), "01020304 64");
    child(kind, ["write", shm.name, "60", "0a0b0c0d"]);
    assert.deepEqual([...shm.view(60)], [10, 11, 12, 13]);
  });
}

test("CPython's SharedMemory attaches to ours by name and reads the same size from fstat", () => {
  using shm = new SharedMemory({ create: true, size: 12345 });
  const out = runOk([
    PYTHON,
    "-c",
    `
import sys; sys.path.insert(0, ${JSON.stringify(`${ROOT}tests/helpers`)})
from python import attach
shm = attach(${JSON.stringify(shm.name)})
print(shm.name.lstrip("/"), shm.size)
shm.close()`,
  ]);
  assert.equal(out, `${shm.name} 12345`);
});
