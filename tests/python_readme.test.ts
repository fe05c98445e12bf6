/**
 * Every ```python block of README.md, run as written by python3 (with shm_interop importable from
 * python/, as `pip install ./python` makes it). The HTML comment above each block says how it runs
 * (`<!-- snippet ID: ... -->`); SNIPPETS below prepares what the comment says TypeScript made, passes its
 * name (or descriptors) as the command-line arguments the snippet reads, and checks the comment's promise.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Channel, Event, Mutex, ShareableList, SharedArray, SharedMemory } from "../mod.ts";
import { ROOT, THIS_RUNTIME } from "./helpers/processes.ts";
import { startPeer } from "./helpers/sync.ts";
import { assertGone, removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";
import { python, SLOW } from "./fixtures/python_interop.ts";

/** One README block: its id, the comment's words, and its code. */
interface Snippet {
  id: string;
  says: string;
  code: string;
}

function snippets(): { found: Snippet[]; blocks: number } {
  const readme = readFileSync(`${ROOT}README.md`, "utf8");
  const found = [...readme.matchAll(/<!-- snippet ([\w-]+): ([^]*?) -->\n\n```python\n([^]*?)```/g)].map(
    ([, id, says, code]) => ({ id, says, code }),
  );
  return { found, blocks: readme.match(/^```python$/gm)?.length ?? 0 };
}

/** What a snippet's test does: make what the snippet expects, give the arguments, check what it did. */
interface Setup {
  /** Returns the snippet's arguments and the check to run once it exited with status 0 and no stderr. */
  prepare(names: string[]): { args: string[]; check(stdout: string): void; dispose?(): void | Promise<void> };
}

const SNIPPETS: Record<string, Setup> = {
  channel: {
    prepare() {
      const channel = Channel.create({ capacity: 4096 });
      return {
        args: [JSON.stringify(channel)],
        check() {
          const received = [channel.tryReceive(), channel.tryReceive(), channel.tryReceive()];
          assert.deepEqual(received, [new TextEncoder().encode("bytes"), "text", { a: [1, null] }]);
          assert.equal(channel.tryReceive(), undefined);
          assert.equal(channel.done, true, "the end came after the three");
        },
        dispose: () => channel[Symbol.dispose](),
      };
    },
  },
  "sync-async": {
    prepare() {
      const mutex = Mutex.create();
      const ready = Event.create();
      // another process sets the event while python3 runs (this one is blocked until it exits)
      const setter = startPeer(THIS_RUNTIME, ["event-set", JSON.stringify(ready)]);
      return {
        args: [JSON.stringify(mutex), JSON.stringify(ready)],
        check(stdout) {
          assert.equal(stdout, "held\nTrue\n");
          assert.equal(mutex.tryLock(), true, "the mutex is free again");
          mutex.unlock();
        },
        async dispose() {
          await setter.done;
          mutex[Symbol.dispose]();
          ready[Symbol.dispose]();
        },
      };
    },
  },
  "channel-async": {
    prepare() {
      const channel = Channel.create({ capacity: 4096 });
      channel.send("one");
      channel.send({ two: 2 });
      channel.send(new Uint8Array([3]));
      channel.end();
      return {
        args: [JSON.stringify(channel)],
        check(stdout) {
          assert.equal(stdout, "one\n{'two': 2}\nb'\\x03'\n");
          assert.equal(channel.done, true);
        },
        dispose: () => channel[Symbol.dispose](),
      };
    },
  },
  sync: {
    prepare() {
      const mutex = Mutex.create();
      const ready = Event.create();
      return {
        args: [JSON.stringify(mutex), JSON.stringify(ready)],
        check(stdout) {
          assert.equal(stdout.trim(), "held");
          assert.equal(ready.isSet(), true);
          assert.equal(mutex.tryLock(), true, "the mutex is free again");
          mutex.unlock();
        },
        dispose() {
          mutex[Symbol.dispose]();
          ready[Symbol.dispose]();
        },
      };
    },
  },
  segment: {
    prepare([name]) {
      const shm = new SharedMemory({ create: true, size: 40, name });
      shm.buf[0] = 41;
      return {
        args: [name],
        check: () => assert.deepEqual([shm.buf[0], segmentExists(name)], [42, true]),
        dispose: () => shm[Symbol.dispose](),
      };
    },
  },
  "array-by-name": {
    prepare([name]) {
      const array = SharedArray.from([[1, 2, 3], [4, 5, 6]], { dtype: "int32", name });
      return {
        args: [array.shm.name],
        check: () => assert.deepEqual(array.toList(), [[100, 4, 6], [8, 10, 12]]),
        dispose: () => array[Symbol.dispose](),
      };
    },
  },
  "create-array": {
    prepare() {
      return {
        args: [],
        check(stdout) {
          const name = stdout.trim();
          try {
            using array = SharedArray.attach(name);
            assert.deepEqual(array.toList(), [[0.5, 1.5, 2.5], [3.5, 4.5, 5.5]]);
            array.shm.unlink();
          } finally {
            removeIfPresent(name);
          }
        },
      };
    },
  },
  "open-memmap": {
    prepare([name]) {
      return {
        args: [name],
        check() {
          using array = SharedArray.attach(name);
          assert.deepEqual([array.dtype, array.shape, array.offset], ["float32", [100, 100], 128]);
          assert.ok(array.data.every((x) => x === 1.5));
          array.shm.unlink();
        },
      };
    },
  },
  descriptors: {
    prepare([name]) {
      const specs = [{ shape: [3], dtype: "uint8" }, { shape: [2], dtype: "float64" }] as const;
      const { offsets, size } = SharedArray.layout(specs);
      const shm = new SharedMemory({ create: true, size, name });
      const a = SharedArray.from([1, 2, 3], { shm, offset: offsets[0], dtype: "uint8" });
      const b = SharedArray.from([0.5, -2], { shm, offset: offsets[1] });
      return {
        args: [JSON.stringify([a, b])],
        check: () => assert.deepEqual([a.toList(), b.toList()], [[2, 4, 6], [1, -4]]),
        dispose: () => shm[Symbol.dispose](),
      };
    },
  },
  layout: {
    prepare() {
      const { offsets, size } = SharedArray.layout([{ shape: [3], dtype: "uint8" }, {
        shape: [2, 2],
        dtype: "float64",
      }]);
      return {
        args: [],
        check: (stdout) => assert.equal(stdout, `{'offsets': [${offsets.join(", ")}], 'size': ${size}}\n`),
      };
    },
  },
  list: {
    prepare([name]) {
      const list = new ShareableList([1, "two", null], { name });
      return {
        args: [JSON.stringify(list)],
        check(stdout) {
          assert.equal(stdout, "[42, 'two', None]\n");
          assert.deepEqual(list.toArray(), [42, "two", null]);
        },
        dispose: () => list[Symbol.dispose](),
      };
    },
  },
};

test("every python block of the README says how it runs, and this test knows every one", () => {
  const { found, blocks } = snippets();
  assert.equal(found.length, blocks, "a ```python block without a <!-- snippet ID: ... --> comment right above it");
  assert.deepEqual(found.map((snippet) => snippet.id).sort(), Object.keys(SNIPPETS).sort());
});

for (const { id, says, code } of snippets().found) {
  test(`the README's python snippet '${id}' runs as written: ${says}`, SLOW, async () => {
    const names = [uniqueName(`readme_${id}`)];
    const setup = SNIPPETS[id];
    assert.ok(setup, `no setup for snippet '${id}'`);
    const { args, check, dispose } = setup.prepare(names);
    try {
      const child = python(code, args);
      assert.deepEqual([child.status, child.stderr], [0, ""], child.stdout);
      check(child.stdout);
    } finally {
      await dispose?.();
      assertGone(names);
    }
  });
}
