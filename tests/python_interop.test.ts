/**
 * shm_interop (python/) against real python3 children, standard library only (the numpy side is in
 * python_arrays.test.ts): attaching never registers with Python's resource tracker, so no child's exit,
 * however it ends, removes a segment or prints a tracker warning; lists and bytes round-trip; who
 * unlinks what. Run under another Python with PYTHON=/path/to/python3.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ShareableList, SharedArray, SharedMemory } from "../mod.ts";
import { segmentExists, withName } from "./helpers/segments.ts";
import { python, SLOW } from "./fixtures/python_interop.ts";

/** A child that attaches with shm_interop, adds 1 to byte 0, then ends by `ending`. */
const ADD_ONE = (ending: string) => `
import os, signal, sys
import shm_interop
shm = shm_interop.attach(sys.argv[1])
shm.buf[0] += 1
shm.close()
${ending}
`;

test(
  "two Python children in turn attach with shm_interop.attach, write, and exit: the segment stays, stderr stays empty",
  SLOW,
  () => {
    withName("pyi", (name) => {
      using shm = new SharedMemory({ create: true, size: 40, name });
      shm.buf[0] = 40;
      for (let i = 0; i < 2; i++) {
        assert.deepEqual(python(ADD_ONE(""), [name]), { status: 0, signal: null, stdout: "", stderr: "" });
        assert.equal(segmentExists(name), true);
      }
      assert.equal(shm.buf[0], 42);
    });
  },
);

const ENDINGS: [string, string, number | null, string | null][] = [
  ["an uncaught exception", "raise RuntimeError('boom')", 1, null],
  ["sys.exit(3)", "sys.exit(3)", 3, null],
  ["os._exit(0)", "os._exit(0)", 0, null],
  ["SIGKILL", "os.kill(os.getpid(), signal.SIGKILL)", null, "SIGKILL"],
];

for (const [how, ending, status, signal] of ENDINGS) {
  test(
    `a Python child that attached and ends by ${how} leaves the segment and prints no tracker warning`,
    SLOW,
    async () => {
      await withName("pyiend", async (name) => {
        using shm = new SharedMemory({ create: true, size: 8, name });
        const child = python(ADD_ONE(ending), [name]);
        assert.deepEqual([child.status, child.signal], [status, signal]);
        assert.doesNotMatch(child.stderr, /resource_tracker|leaked/);
        // a tracker, had one been started, cleans up just after its parent dies: give it time to (wrongly) act
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(segmentExists(name), true);
        assert.equal(shm.buf[0], 1);
      });
    },
  );
}

test("attaching a segment, an array and a list starts no resource tracker at all", SLOW, () => {
  withName("pyi", (name) => {
    using _array = SharedArray.zeros([2], "int8", { name });
    using list = new ShareableList([1, "two"], { name: `${name}_list` });
    const child = python(
      `import sys, shm_interop
from multiprocessing import resource_tracker
with shm_interop.attach(sys.argv[1]), shm_interop.attach_array(sys.argv[1]), shm_interop.attach_list(sys.argv[2]):
    pass
print(resource_tracker._resource_tracker._pid)`,
      [name, list.shm.name],
    );
    assert.deepEqual(child, { status: 0, signal: null, stdout: "None\n", stderr: "" });
  });
});

test(
  "the same child with CPython's own SharedMemory(name) removes the segment at exit with a warning (what attach prevents)",
  SLOW,
  () => {
    withName("pyi", (name) => {
      using _shm = new SharedMemory({ create: true, size: 8, name });
      const child = python(
        "import sys\nfrom multiprocessing import shared_memory\nshared_memory.SharedMemory(sys.argv[1]).close()",
        [
          name,
        ],
      );
      assert.equal(child.status, 0);
      assert.match(child.stderr, /resource_tracker: There appear to be 1 leaked shared_memory objects/);
      assert.equal(segmentExists(name), false);
    });
  },
);

test("a ShareableList made in TypeScript is read and changed through attach_list, and outlives the child", SLOW, () => {
  withName("pyi", (name) => {
    using list = new ShareableList([1, 2.5, true, null, "héllo", new Uint8Array([97, 98]), -7], { name });
    const child = python(
      `import sys, shm_interop
with shm_interop.attach_list(sys.argv[1]) as items:
    print(list(items), items.format)
    items[0] = 42
    items[4] = "hi"
    items[6] = None
print(items.shm.closed)`,
      [name],
    );
    assert.deepEqual(child, {
      status: 0,
      signal: null,
      stdout: "[1, 2.5, True, None, 'héllo', b'ab', -7] qdxxxxxxx?xxxxxx?x8s8sq\nTrue\n",
      stderr: "",
    });
    assert.deepEqual(list.toArray(), [42, 2.5, true, null, "hi", new Uint8Array([97, 98]), null]);
    assert.equal(segmentExists(name), true);
  });
});

test("an untracked handle's unlink() removes the segment with no tracker traceback", SLOW, () => {
  withName("pyi", (name) => {
    const shm = new SharedMemory({ create: true, size: 8, name, track: false });
    shm.close();
    const child = python("import sys, shm_interop\nshm_interop.attach(sys.argv[1]).unlink()", [name]);
    assert.deepEqual(child, { status: 0, signal: null, stdout: "", stderr: "" });
    assert.equal(segmentExists(name), false);
  });
});

test(
  "in one Python process, a creator, an attacher of the same segment, and the creator's unlink print nothing",
  SLOW,
  () => {
    withName("pyi", (name) => {
      const child = python(
        `import sys, shm_interop
with shm_interop.create(16, sys.argv[1]) as made:
    with shm_interop.attach(made.name) as same:
        same.buf[0] = 7
    print(made.buf[0], made.created, same.created)`,
        [name],
      );
      assert.deepEqual(child, { status: 0, signal: null, stdout: "7 True False\n", stderr: "" });
    });
  },
);

test(
  "who unlinks: the creator's with block; a tracked creation left behind by the tracker at exit; an untracked one by its receiver",
  SLOW,
  () => {
    withName("pyi", (name) => {
      // the end of the creator's with block unlinks
      const block = python(
        `import sys, shm_interop, os
with shm_interop.create(8, sys.argv[1]):
    print(os.path.exists("/dev/shm/" + sys.argv[1]))
print(os.path.exists("/dev/shm/" + sys.argv[1]))`,
        [name],
      );
      assert.deepEqual(block, { status: 0, signal: null, stdout: "True\nFalse\n", stderr: "" });
      // tracked (the default), never unlinked: CPython's tracker removes it when the process ends, and says so
      const left = python("import sys, shm_interop\nshm_interop.create(8, sys.argv[1]).close()", [name]);
      assert.equal(left.status, 0);
      assert.match(left.stderr, /leaked shared_memory objects/);
      assert.equal(segmentExists(name), false);
      // track=False: the segment is the receiver's to unlink, and nothing is said
      const handed = python("import sys, shm_interop\nshm_interop.create(8, sys.argv[1], track=False).close()", [name]);
      assert.deepEqual(handed, { status: 0, signal: null, stdout: "", stderr: "" });
      using received = new SharedMemory(name);
      received.unlink();
    });
  },
);

test(
  "close() is safe to call twice and leaves buf None, as CPython's; a pickled handle attaches untracked",
  SLOW,
  () => {
    withName("pyi", (name) => {
      using _shm = new SharedMemory({ create: true, size: 8, name });
      const child = python(
        `import pickle, sys, shm_interop
from multiprocessing import resource_tracker
shm = shm_interop.attach(sys.argv[1])
copy = pickle.loads(pickle.dumps(shm))
print(type(copy).__module__, copy.name == shm.name, copy.created)
copy.close(); shm.close(); shm.close()
print(shm.buf, shm.closed, resource_tracker._resource_tracker._pid)`,
        [name],
      );
      assert.deepEqual(child, {
        status: 0,
        signal: null,
        stdout: "shm_interop.shared_memory True False\nNone True None\n",
        stderr: "",
      });
    });
  },
);

test(
  "bad input is refused with Python's own error types: a missing segment, a descriptor of another kind, an unknown dtype",
  SLOW,
  () => {
    withName("pyi", (name) => {
      using _array = SharedArray.zeros([2], "int8", { name });
      const child = python(
        `import sys, shm_interop
def error(call):
    try:
        call()
    except Exception as e:
        return type(e).__name__
print(error(lambda: shm_interop.attach("shmtest_pyi_missing_segment")))
print(error(lambda: shm_interop.attach_array({"kind": "list", "name": sys.argv[1]})))
print(error(lambda: shm_interop.attach_array({"name": sys.argv[1], "dtype": "complex128", "shape": [1]})))
print(error(lambda: shm_interop.attach_array({"name": sys.argv[1], "dtype": "int8", "shape": [1], "offset": 200})))
print(error(lambda: shm_interop.create_array((-1,), "int8")))
print(error(lambda: shm_interop.layout([{"shape": [1]}])))`,
        [name],
      );
      assert.deepEqual(child.stdout.split("\n"), [
        "FileNotFoundError",
        "ValueError",
        "ValueError",
        "ValueError",
        "ValueError",
        "TypeError",
        "",
      ]);
      assert.equal(child.stderr, "");
    });
  },
);

test(
  "attach_array of a segment with no .npy header is a MalformedArrayError naming the segment, and closes what it opened",
  SLOW,
  () => {
    withName("pyi", (name) => {
      using _shm = new SharedMemory({ create: true, size: 64, name });
      const child = python(
        `import sys, shm_interop
try:
    shm_interop.attach_array(sys.argv[1])
except shm_interop.MalformedArrayError as e:
    print(isinstance(e, ValueError), e.segment == sys.argv[1], e.reason)
print(open("/proc/self/maps").read().count(sys.argv[1]))`,
        [name],
      );
      assert.deepEqual(child, {
        status: 0,
        signal: null,
        stdout:
          "True True it does not start with the .npy magic string \\x93NUMPY (found \\x00\\x00\\x00\\x00\\x00\\x00)\n0\n",
        stderr: "",
      });
    });
  },
);
