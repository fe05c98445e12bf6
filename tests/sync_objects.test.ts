/**
 * Semaphore, Event, Condition and Barrier: their semantics beside Python's threading equivalents, and
 * waits across processes in every pairing of Deno, Bun, Node and python3, sync and async.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Barrier, Condition, Event, Mutex, Semaphore } from "../mod.ts";
import { type Peer, PEERS, runPeer, startPeer } from "./helpers/sync.ts";
import { PYTHON, ROOT, runOk } from "./helpers/processes.ts";

/** Bun's test runner stops a node:test test after 5 s whatever bunfig.toml says: these start processes. */
const LONG = { timeout: 120_000 };

type Op = [string, unknown];
type SyncObject = Mutex | Semaphore | Event | Condition | Barrier;

/** The same operations in TypeScript: each answer a value, null for none, or "error" when it threw. */
function runOps(object: SyncObject, ops: Op[]): unknown[] {
  const o = object as unknown as Record<string, (...args: unknown[]) => unknown>;
  const lock = (object as Condition).mutex ?? object;
  return ops.map(([name, arg]) => {
    try {
      const timeout = typeof arg === "number" ? { timeout: arg * 1000 } : undefined;
      let answer: unknown;
      switch (name) {
        case "acquire":
          if (object instanceof Mutex) answer = arg === "nb" ? object.tryLock() : object.lock(timeout);
          else answer = arg === "nb" ? o.tryAcquire() : o.acquire(timeout);
          break;
        case "release":
          answer = object instanceof Mutex ? object.unlock() : o.release(...(arg === null ? [] : [arg]));
          break;
        case "wait":
          answer = o.wait(arg === null ? undefined : timeout);
          break;
        case "lock":
          answer = lock.lock() ? true : false;
          break;
        case "unlock":
          answer = lock.unlock();
          break;
        case "notify":
          answer = o.notify(arg);
          break;
        case "waitFor":
          answer = (object as Condition).waitFor(() => arg as boolean, { timeout: 10 });
          break;
        case "broken":
          answer = (object as Barrier).broken;
          break;
        default:
          answer = o[name]();
      }
      return answer ?? null;
    } catch {
      return "error";
    }
  });
}

const SCRIPTS: { kind: string; make: () => SyncObject; extra?: Record<string, unknown>; ops: Op[] }[] = [
  {
    kind: "mutex",
    make: () => Mutex.create(),
    ops: [["acquire", null], ["acquire", "nb"], ["release", null], ["release", null], ["acquire", 0.01], [
      "release",
      null,
    ]],
  },
  {
    kind: "semaphore",
    make: () => Semaphore.create({ value: 2 }),
    extra: { value: 2 },
    ops: [
      ["acquire", "nb"],
      ["acquire", "nb"],
      ["acquire", "nb"],
      ["acquire", 0.02],
      ["release", null],
      ["acquire", "nb"],
      ["release", 2],
      ["acquire", "nb"],
      ["acquire", "nb"],
      ["acquire", "nb"],
    ],
  },
  {
    kind: "semaphore",
    make: () => Semaphore.create({ value: 1, max: 1 }),
    extra: { value: 1, max: 1 },
    ops: [["release", null], ["acquire", "nb"], ["acquire", "nb"], ["release", null], ["release", null]],
  },
  {
    kind: "event",
    make: () => Event.create(),
    ops: [
      ["isSet", null],
      ["wait", 0.01],
      ["set", null],
      ["isSet", null],
      ["wait", 0],
      ["wait", null],
      [
        "clear",
        null,
      ],
      ["isSet", null],
      ["wait", 0.01],
    ],
  },
  {
    kind: "condition",
    make: () => Condition.create(),
    ops: [
      ["notify", 1],
      ["lock", null],
      ["wait", 0.01],
      ["notify", 1],
      ["waitFor", true],
      ["waitFor", false],
      ["unlock", null],
      ["wait", 0.01],
    ],
  },
  {
    kind: "barrier",
    make: () => Barrier.create({ parties: 1 }),
    extra: { parties: 1 },
    ops: [
      ["wait", null],
      ["wait", null],
      ["broken", null],
      ["abort", null],
      ["broken", null],
      ["wait", null],
      [
        "reset",
        null,
      ],
      ["broken", null],
      ["wait", null],
    ],
  },
  {
    kind: "barrier",
    make: () => Barrier.create({ parties: 2 }),
    extra: { parties: 2 },
    ops: [["wait", 0.02], ["broken", null], ["wait", null], ["reset", null], ["broken", null]],
  },
];

for (const { kind, make, extra, ops } of SCRIPTS) {
  test(`a ${kind} answers as Python's threading ${kind} does: ${ops.map(([n]) => n).join(", ")}`, LONG, () => {
    using object = make() as SyncObject & Disposable;
    const python = JSON.parse(runOk([
      PYTHON,
      `${ROOT}tests/fixtures/sync_semantics.py`,
      kind,
      JSON.stringify({ ...extra, descriptor: object.descriptor }),
      JSON.stringify(ops),
    ]));
    // the Python side ran on our object first: a fresh one for the TypeScript run
    using fresh = make() as SyncObject & Disposable;
    const ours = runOps(fresh, ops);
    assert.deepEqual(python.ours, python.threading, "shm_interop.sync answers as threading does");
    assert.deepEqual(ours, python.threading, "TypeScript answers as threading does");
  });
}

/** Each waiter kind and mode, and a waker of the next kind. */
const WAITS: [Peer, string, Peer][] = [
  ["deno", "sync", "bun"],
  ["bun", "spin", "deno"],
  ["deno", "async", "python3"],
  ["bun", "sync", "python3"],
  ["bun", "async", "deno"],
  ["python3", "sync", "deno"],
  ["python3", "sync", "bun"],
  ["node", "sync", "bun"],
  ["node", "spin", "python3"],
  ["node", "async", "deno"],
  ["deno", "async", "node"],
  ["python3", "sync", "node"],
];

for (const [waiter, mode, waker] of WAITS) {
  test(`an Event set in ${waker} wakes a ${mode} wait in ${waiter}`, LONG, async () => {
    using event = Event.create();
    const d = JSON.stringify(event.descriptor);
    const waiting = startPeer(waiter, ["event-wait", d, "20000", mode]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await runPeer(waker, ["event-set", d]);
    assert.equal(await waiting.done, "true");
  });

  test(`a Semaphore released in ${waker} wakes a ${mode} acquire in ${waiter}`, LONG, async () => {
    using semaphore = Semaphore.create({ value: 0 });
    const d = JSON.stringify(semaphore.descriptor);
    const waiting = startPeer(waiter, ["sem-acquire", d, "20000", mode]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await runPeer(waker, ["sem-release", d, "1"]);
    assert.equal(await waiting.done, "true");
    assert.equal(semaphore.value, 0);
  });

  if (mode !== "spin") {
    test(`a Condition notified in ${waker} wakes a ${mode} wait in ${waiter}`, LONG, async () => {
      using condition = Condition.create();
      const d = JSON.stringify(condition.descriptor);
      const waiting = startPeer(waiter, ["cond-wait", d, "20000", mode]);
      await waiting.line("waiting");
      // the waiter printed "waiting" holding the mutex: the notifier's lock waits until its wait let it go
      await runPeer(waker, ["cond-notify", d, "1"]);
      assert.equal(await waiting.done, "waiting\ntrue");
    });
  }
}

test("timeouts end waits: an Event not set, a Semaphore at 0, a Condition not notified", LONG, async () => {
  using event = Event.create();
  using semaphore = Semaphore.create({ value: 0 });
  using condition = Condition.create();
  assert.equal(event.wait({ timeout: 20 }), false);
  assert.equal(await event.waitAsync({ timeout: 20 }), false);
  assert.equal(semaphore.acquire({ timeout: 20 }), false);
  assert.equal(await semaphore.acquireAsync({ timeout: 20 }), false);
  await condition.mutex.lockAsync();
  assert.equal(await condition.waitAsync({ timeout: 20 }), false);
  assert.equal(condition.mutex.heldByThisThread(), true, "a wait that timed out holds the mutex again");
  condition.mutex.unlock();
});

test("an aborted signal rejects the waits of an Event, a Semaphore, a Condition and a Barrier", LONG, async () => {
  using event = Event.create();
  using semaphore = Semaphore.create({ value: 0 });
  using condition = Condition.create();
  using barrier = Barrier.create({ parties: 2 });
  const reason = new Error("cancelled");
  const later = (ms: number) => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), ms);
    return controller.signal;
  };
  await assert.rejects(event.waitAsync({ signal: later(20) }), (e) => e === reason);
  await assert.rejects(semaphore.acquireAsync({ signal: later(20) }), (e) => e === reason);
  await condition.mutex.lockAsync();
  await assert.rejects(condition.waitAsync({ signal: later(20) }), (e) => e === reason);
  condition.mutex.unlock();
  await assert.rejects(barrier.waitAsync({ signal: later(20) }), (e) => e === reason);
  assert.equal(barrier.broken, true, "an abandoned barrier wait breaks it, as a timeout does");
  assert.throws(() => event.wait({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
});

test("a Barrier of Deno, Bun, Node and python3 trips once all four arrive, each with its own index", LONG, async () => {
  using barrier = Barrier.create({ parties: 4 });
  const d = JSON.stringify(barrier.descriptor);
  const answers = await Promise.all(
    ([["deno", "async"], ["bun", "sync"], ["node", "async"], ["python3", "sync"]] as const).map(([peer, mode]) =>
      runPeer(peer, ["barrier-wait", d, "20000", mode])
    ),
  );
  assert.deepEqual(answers.map(Number).sort(), [0, 1, 2, 3]);
});

for (const dying of PEERS) {
  test(`a Barrier party in ${dying} that dies breaks it for the others: an error, not a hang`, LONG, async () => {
    using barrier = Barrier.create({ parties: PEERS.length });
    const d = JSON.stringify(barrier.descriptor);
    const doomed = startPeer(dying, ["barrier-hang", d]);
    await doomed.line("attached");
    const others = PEERS.filter((peer) => peer !== dying).map((peer) =>
      startPeer(peer, ["barrier-wait", d, "20000", peer === "python3" ? "sync" : "async"])
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    doomed.child.kill("SIGKILL");
    assert.deepEqual(await Promise.all(others.map((peer) => peer.done)), others.map(() => "broken"));
  });
}

test("objects python3 creates are attached and used by this runtime", LONG, async () => {
  const made = startPeer("python3", [
    "-c",
    `import json, sys, time
sys.path.insert(0, "${ROOT}python")
from shm_interop import sync
objects = [sync.Mutex.create(), sync.Semaphore.create(value=2), sync.Event.create(), sync.Barrier.create(2)]
print(json.dumps([o.descriptor for o in objects]), flush=True)
print(objects[3].wait(20), flush=True)  # the barrier's second party is this test
sys.stdin.readline()
for o in objects:
    shm = o.shm
    o.close()
    shm.unlink()`,
  ]);
  const [mutexD, semaphoreD, eventD, barrierD] = JSON.parse(await made.nextLine());
  using mutex = Mutex.attach(mutexD);
  using semaphore = Semaphore.attach(semaphoreD);
  using event = Event.attach(eventD);
  using barrier = Barrier.attach(barrierD);
  assert.equal(mutex.tryLock(), true);
  mutex.unlock();
  assert.equal(semaphore.value, 2);
  assert.equal(semaphore.tryAcquire(), true);
  assert.equal(event.isSet(), false);
  const index = await barrier.waitAsync({ timeout: 20_000 });
  assert.deepEqual([index, Number(await made.nextLine())].sort(), [0, 1]);
  made.child.stdin!.end("\n");
  await made.done;
});
