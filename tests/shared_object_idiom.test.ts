/**
 * One idiom for every shared object (issue 13): each kind is a row of KINDS, and every test runs over
 * every row, so that a new kind is a new row. Create, the descriptor and its kind, attach by name,
 * descriptor and JSON, closed, close, `using`, toJSON, the generic `attach`, and a descriptor handed
 * over through JSON, argv (a Deno, a Bun and a Node child) and postMessage (a Worker).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  attach,
  Barrier,
  Channel,
  Condition,
  Event,
  Mutex,
  Semaphore,
  ShareableList,
  SharedArray,
  type SharedHandle,
  SharedMemory,
  SharedMemoryManager,
} from "../mod.ts";
import { assertGone, removeIfPresent, segmentExists, uniqueName, withName } from "./helpers/segments.ts";
import { runOk, RUNTIMES, scriptCommand } from "./helpers/processes.ts";
import { startWorker } from "./helpers/worker.ts";
import { CREATOR_MARK, MARKS, PEER_MARK } from "./fixtures/idiom_peer.ts";

/** One kind of shared object: how to make one under a name, and its class's own `attach`. */
interface Kind {
  kind: keyof typeof MARKS;
  /** The class (a Function: SharedArray's constructor is private). */
  Class: { readonly name: string; readonly prototype: SharedHandle };
  create(name: string): SharedHandle;
  attach(nameOrDescriptor: unknown): SharedHandle;
}

const KINDS: readonly Kind[] = [
  {
    kind: "shm",
    Class: SharedMemory,
    create: (name) => SharedMemory.create({ size: 64, name }),
    attach: (x) => SharedMemory.attach(x as never),
  },
  {
    kind: "list",
    Class: ShareableList,
    create: (name) => ShareableList.create([0, "two", null], { name }),
    attach: (x) => ShareableList.attach(x as never),
  },
  {
    kind: "array",
    Class: SharedArray,
    create: (name) => SharedArray.create([4], "int32", { name }),
    attach: (x) => SharedArray.attach(x as never),
  },
];

/** The three hand-over forms `attach` takes: the name, the descriptor, its JSON. */
function handOverForms(object: SharedHandle): [string, unknown][] {
  return [
    ["name", object.descriptor.name],
    ["descriptor", object.descriptor],
    ["JSON", JSON.stringify(object)],
  ];
}

for (const row of KINDS) {
  const { kind, Class } = row;

  test(`${kind}: create gives a ${Class.name} whose descriptor has kind '${kind}' and is plain JSON equal to toJSON()`, async () => {
    await withName("idiom", (name) => {
      using object = row.create(name);
      assert.ok(object instanceof (Class as never));
      assert.equal(object.descriptor.kind, kind);
      assert.equal(object.descriptor.name, name);
      assert.deepEqual(object.toJSON(), object.descriptor);
      assert.deepEqual(JSON.parse(JSON.stringify(object)), object.descriptor);
      assert.deepEqual(JSON.parse(JSON.stringify(object.descriptor)), object.descriptor);
    });
  });

  test(`${kind}: attach by name, by descriptor and by its JSON sees the creator's memory, both ways`, async () => {
    await withName("idiom", (name) => {
      using object = row.create(name);
      for (const [form, handed] of handOverForms(object)) {
        MARKS[kind].write(object, CREATOR_MARK);
        using attached = row.attach(handed);
        assert.ok(attached instanceof (Class as never), form);
        assert.deepEqual(attached.descriptor, object.descriptor, form);
        assert.equal(MARKS[kind].read(attached), CREATOR_MARK, form);
        MARKS[kind].write(attached, PEER_MARK);
        assert.equal(MARKS[kind].read(object), PEER_MARK, form);
      }
    });
  });

  test(`${kind}: the generic attach returns a ${Class.name} for its descriptor and for its JSON`, async () => {
    await withName("idiom", (name) => {
      using object = row.create(name);
      for (const handed of [object.descriptor, JSON.stringify(object), JSON.parse(JSON.stringify(object))]) {
        using attached = attach(handed);
        assert.ok(attached instanceof (Class as never));
        assert.deepEqual(attached.descriptor, object.descriptor);
      }
    });
  });

  test(`${kind}: closed is false until close(), true after, and a second close() is safe`, async () => {
    await withName("idiom", (name) => {
      using object = row.create(name);
      using attached = row.attach(name);
      for (const handle of [attached, object]) {
        assert.equal(handle.closed, false);
        handle.close();
        assert.equal(handle.closed, true);
        handle.close();
        assert.equal(handle.closed, true);
      }
      assert.equal(segmentExists(name), true, "close() never unlinks");
    });
  });

  test(`${kind}: using unlinks what create made, and never what attach opened`, async () => {
    await withName("idiom", (name) => {
      const object = row.create(name);
      {
        using attached = row.attach(object.descriptor);
        assert.equal(attached.closed, false);
      }
      assert.equal(segmentExists(name), true, "an attached handle's end leaves the segment");
      assert.equal(object.closed, false, "and the creator's handle open");
      {
        using created = object;
        assert.equal(created.closed, false);
      }
      assert.equal(object.closed, true);
      assert.equal(segmentExists(name), false, "the creator's end unlinks it");
    });
  });

  test(`${kind}: a manager owns one by the contract alone, and frees it`, async () => {
    await withName("idiom", (name) => {
      const manager = new SharedMemoryManager();
      const object = row.create(name) as SharedMemory | ShareableList | SharedArray;
      assert.equal(manager.adopt(object), object);
      assert.deepEqual(manager.names, [name]);
      manager.shutdown();
      assert.equal(object.closed, true);
      assert.equal(segmentExists(name), false);
    });
  });

  test(`${kind}: descriptors of another kind, and malformed ones, are refused with a clear TypeError`, async () => {
    await withName("idiom", (name) => {
      using object = row.create(name);
      for (const other of KINDS.filter((r) => r.kind !== kind)) {
        const wrong = { ...object.descriptor, kind: other.kind };
        assert.throws(() => row.attach(wrong), {
          name: "TypeError",
          message: new RegExp(`the descriptor is of an? '${other.kind}', not of an? '${kind}'`),
        });
        assert.throws(() => row.attach(JSON.stringify(wrong)), TypeError);
      }
      const malformed: [string, unknown][] = [
        ["null", null],
        ["a number", 42],
        ["an array", [object.descriptor]],
        ["JSON that does not parse", `{"kind": "${kind}", name: }`],
        ["a kind that is not a string", { ...object.descriptor, kind: 3 }],
        ["a name that is not a string", { ...object.descriptor, name: 5 }],
        ["an empty name", { ...object.descriptor, name: "" }],
        ["a negative offset", { ...object.descriptor, offset: -8 }],
        ["an offset that is a string", { ...object.descriptor, offset: "0" }],
      ];
      for (const [label, value] of malformed) {
        assert.throws(() => row.attach(value), TypeError, `${kind}.attach of ${label}`);
        assert.throws(() => attach(value as never), TypeError, `attach of ${label}`);
      }
      assert.equal(object.closed, false);
    });
  });
}

test("the generic attach refuses a bare name, a missing kind and an unknown kind, naming the kinds it knows", async () => {
  await withName("idiom", (name) => {
    using shm = SharedMemory.create({ size: 8, name });
    assert.throws(() => attach(name as never), { name: "TypeError", message: /bare name .* has no kind/ });
    assert.throws(() => attach({ name } as never), {
      name: "TypeError",
      message: /^descriptor\.kind must be one of 'shm', 'list', 'array', 'mutex', .*'channel', got undefined$/,
    });
    assert.throws(() => attach({ kind: "toString", name } as never), TypeError);
    assert.throws(() => attach(JSON.stringify({ kind: "queue", name }) as never), {
      name: "TypeError",
      message: /got 'queue'/,
    });
    assert.equal(shm.closed, false);
  });
});

test("a shm descriptor with an offset, and a list descriptor with one, are refused", async () => {
  await withName("idiom", (name) => {
    using list = ShareableList.create([1], { name });
    assert.throws(() => SharedMemory.attach({ kind: "shm", name, offset: 8 } as never), TypeError);
    assert.throws(() => ShareableList.attach({ kind: "list", name, offset: 8 }), {
      name: "TypeError",
      message: /descriptor.offset must be 0/,
    });
    assert.equal(list.get(0), 1);
  });
});

test("SharedMemory.create and ShareableList.create refuse what their constructors refuse, and unknown options", () => {
  assert.throws(() => SharedMemory.create({ size: 8, create: false } as never), {
    name: "TypeError",
    message: "unknown option 'create' (known: size, name, mode, track, reserve)",
  });
  assert.throws(() => SharedMemory.create({} as never), { name: "TypeError", message: /size is required/ });
  assert.throws(() => SharedMemory.create(null as never), TypeError);
  assert.throws(() => ShareableList.create(null as never), { name: "TypeError", message: /attach\(\) attaches/ });
  assert.throws(() => ShareableList.create([1], { sise: 1 } as never), TypeError);
});

test("the CPython constructors still work beside the idiom", async () => {
  await withName("idiom", (name) => {
    using made = new SharedMemory({ create: true, size: 16, name });
    using attached = new SharedMemory({ name });
    assert.deepEqual(attached.descriptor, { kind: "shm", name });
    made.close();
    using list = new ShareableList([1, 2]);
    using other = new ShareableList(null, { name: list.shm.name });
    assert.deepEqual(other.descriptor, { kind: "list", name: list.shm.name, offset: 0 });
    assert.equal(other.get(1), 2);
  });
});

/** One object of each kind, marked by the creator; `check` gets their descriptors and then sees the peer's marks. */
async function withOneOfEach(check: (objects: SharedHandle[]) => Promise<void> | void): Promise<void> {
  const names = KINDS.map(() => uniqueName("idiompeer"));
  try {
    const objects = KINDS.map((row, i) => row.create(names[i]));
    try {
      KINDS.forEach((row, i) => MARKS[row.kind].write(objects[i], CREATOR_MARK));
      await check(objects);
      KINDS.forEach((row, i) => assert.equal(MARKS[row.kind].read(objects[i]), PEER_MARK, row.kind));
    } finally {
      objects.forEach((object) => object[Symbol.dispose]());
    }
    assert.deepEqual(names.filter(segmentExists), []);
  } finally {
    names.forEach(removeIfPresent);
  }
}

const EXPECTED = KINDS.map((row) => `${row.kind}:${row.Class.name}`).join(" ");

for (const runtime of RUNTIMES) {
  test(`every kind's descriptor crosses argv to a ${runtime} child, which attaches the right class with attach()`, {
    timeout: 60_000,
  }, async () => {
    await withOneOfEach((objects) => {
      const argv = objects.map((object) => JSON.stringify(object.descriptor));
      assert.equal(runOk(scriptCommand(runtime, "tests/fixtures/idiom_child.ts", argv)), EXPECTED);
    });
  });
}

test("every kind's descriptor crosses postMessage to a Worker, which attaches the right class with attach()", {
  timeout: 60_000,
}, async () => {
  await withOneOfEach(async (objects) => {
    const worker = startWorker(new URL("./fixtures/idiom_worker.ts", import.meta.url));
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the worker did not answer within 30 s")), 30_000);
      });
      const reply = worker.next<{ touched?: string[]; error?: string }>();
      worker.postMessage(objects.map((object) => object.descriptor));
      assert.deepEqual(await Promise.race([reply, timeout]), { touched: EXPECTED.split(" ") });
    } finally {
      clearTimeout(timer);
      worker.terminate();
    }
  });
});

test("the generic attach gives the sync objects and channels their own class, by descriptor and by JSON", () => {
  const names = Array.from({ length: 6 }, () => uniqueName("idiomsync"));
  try {
    const made = [
      Mutex.create({ name: names[0] }),
      Semaphore.create({ name: names[1], value: 2 }),
      Event.create({ name: names[2] }),
      Condition.create({ name: names[3] }),
      Barrier.create({ name: names[4], parties: 2 }),
      Channel.create({ name: names[5], capacity: 4096 }),
    ];
    try {
      for (const object of made) {
        for (const handed of [object.descriptor, JSON.stringify(object)]) {
          using attached = attach(handed as never);
          assert.equal(attached.constructor, object.constructor, object.descriptor.kind);
          assert.deepEqual(attached.descriptor, object.descriptor);
        }
      }
    } finally {
      made.forEach((object) => object[Symbol.dispose]());
    }
    assert.deepEqual(names.filter(segmentExists), []);
  } finally {
    names.forEach(removeIfPresent);
  }
});

test("the sync objects' and a channel's create take every option of a new segment, reserve: false included", () => {
  const names = Array.from({ length: 6 }, () => uniqueName("idiomplace"));
  const where = (i: number) => ({ name: names[i], mode: 0o600, track: true, reserve: false });
  const makers = [
    () => Mutex.create(where(0)),
    () => Semaphore.create({ ...where(1), value: 2 }),
    () => Event.create(where(2)),
    () => Condition.create(where(3)),
    () => Barrier.create({ ...where(4), parties: 2 }),
    () => Channel.create({ ...where(5), capacity: 4096 }),
  ];
  const made: SharedHandle[] = [];
  try {
    for (const create of makers) made.push(create());
    assert.deepEqual(made.map((object) => object.descriptor.name), names);
    assert.deepEqual(names.filter(segmentExists), names);
  } finally {
    made.forEach((object) => object[Symbol.dispose]());
    assertGone(names);
  }
});
