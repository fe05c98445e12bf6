/**
 * No tracked segment outlives its process, whichever way the process ends, and no process removes a
 * segment it did not create. Every test runs real child processes and checks only the names they print.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { SharedMemory } from "../mod.ts";
import { trackedNames } from "../src/cleanup/tracking.ts";
import { type ChildResult, ROOT, type Runtime, runtimePath, scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import { removeIfPresent, segmentExists } from "./helpers/segments.ts";
import { launch, waitUntilGone } from "./helpers/children.ts";

const FIXTURE = "tests/fixtures/exit_paths.ts";

/** What exit_paths.ts prints first. */
interface Made {
  tracked: string[];
  untracked: string;
}

/** What a listener in exit_paths.ts prints when its signal or error arrives. */
interface Handled {
  handled: string;
  allThere: boolean;
}

/** The warning lines of our cleanup in `stderr`. */
const warnings = (stderr: string) => stderr.split("\n").filter((line) => line.startsWith("shared-memory: unlinked"));

/** How `exitPath` runs the fixture. */
interface ExitPathOptions {
  /** What the test does to the running child once it printed its names (default: nothing). */
  drive?: (child: ReturnType<typeof launch>, made: Made) => void | Promise<void>;
  /** The runtime of the child (default: this one). */
  runtime?: Runtime;
  /** The whole command line, instead of the fixture in `runtime` with `args`. */
  command?: string[];
}

/** Runs exit_paths.ts with `args`, lets `drive` act on it, and checks what is left; returns how it ended. */
async function exitPath(args: string[], options: ExitPathOptions = {}): Promise<ChildResult> {
  const { drive = () => {}, runtime = THIS_RUNTIME, command = scriptCommand(runtime, FIXTURE, args) } = options;
  const child = launch(command);
  let made: Made | undefined;
  try {
    made = await child.line<Made>(0);
    await drive(child, made);
    const end = await child.ended;
    assert.deepEqual(
      await waitUntilGone(made.tracked, 10_000),
      [],
      `tracked segments left behind; stderr:\n${end.stderr}`,
    );
    assert.ok(segmentExists(made.untracked), "a segment created with track: false was removed");
    const lines = warnings(end.stderr);
    assert.equal(lines.length, 1, `expected one warning line, got:\n${end.stderr}`);
    for (const name of made.tracked) assert.ok(lines[0].includes(name), `${name} missing from: ${lines[0]}`);
    return end;
  } finally {
    if (made) { for (const name of [...made.tracked, made.untracked]) removeIfPresent(name); }
    try {
      process.kill(child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

test("a tracked segment is unlinked when the process falls off the end, with one warning line", async () => {
  const end = await exitPath(["end"]);
  assert.equal(end.status, 0);
  assert.match(warnings(end.stderr)[0], /^shared-memory: unlinked 2 segments left at exit: psm_[0-9a-f]{8}, psm_/);
});

test("a tracked segment is unlinked at process.exit(), which keeps its exit code", async () => {
  assert.equal((await exitPath(["process.exit"])).status, 3);
});

test("a tracked segment is unlinked at Deno.exit(), which keeps its exit code", async () => {
  assert.equal((await exitPath(["Deno.exit"], { runtime: "deno" })).status, 4);
});

test("a tracked segment is unlinked at an uncaught error, which still ends the process with code 1", async () => {
  const end = await exitPath(["throw"]);
  assert.equal(end.status, 1);
  assert.match(end.stderr, /uncaught on purpose/);
});

test("a tracked segment is unlinked at an unhandled rejection, which still ends the process with code 1", async () => {
  const end = await exitPath(["reject"]);
  assert.equal(end.status, 1);
  assert.match(end.stderr, /rejected on purpose/);
});

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  test(`a process killed by ${signal} dies by ${signal}, and the crash watcher unlinks its segments`, async () => {
    const end = await exitPath(["wait"], { drive: (child) => child.kill(signal) });
    assert.equal(end.signal, signal);
    assert.equal(end.status, null);
    // No listener of the library's ran: the cleanup is the watcher's, as after SIGKILL.
    assert.match(warnings(end.stderr)[0], /left by process \d+, which ended without unlinking/);
  });
}

test("a signal ignored from the start (nohup, a background job) stays ignored", async () => {
  // sh ignores SIGINT, and exec keeps it ignored in the child, as a non-interactive shell's `&` does.
  const command = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", ...scriptCommand(THIS_RUNTIME, FIXTURE, ["wait"])];
  const end = await exitPath(["wait"], {
    command,
    drive: (child) => {
      child.kill("SIGINT");
      child.kill("SIGTERM");
    },
  });
  // Node itself makes every ignored signal take its default action again at startup, before any script
  // runs (a `node` under `nohup` or in a background job dies by SIGINT too): there SIGINT ends it, as it
  // would without this library, and the segments are still unlinked (exitPath checks).
  if (THIS_RUNTIME === "node") {
    // Node's own start-up reset, not this library, decides there; which of the two signals sent back to
    // back ends it was seen to vary under load, and either is Node's behaviour without this library.
    assert.ok(end.signal === "SIGINT" || end.signal === "SIGTERM", `ended by ${end.signal}`);
  } else assert.equal(end.signal, "SIGTERM");
});

test("a tracked segment is unlinked after SIGKILL, by the crash watcher", async () => {
  const end = await exitPath(["wait"], { drive: (child) => child.kill("SIGKILL") });
  assert.equal(end.signal, "SIGKILL");
  assert.match(warnings(end.stderr)[0], /left by process \d+, which ended without unlinking/);
});

test("a program's own signal listener decides: segments stay while it runs, and go when it exits", async () => {
  const end = await exitPath(["listener-exits", "SIGINT"], {
    drive: async (child) => {
      child.kill("SIGINT");
      assert.deepEqual(await child.line<Handled>(1), { handled: "SIGINT", allThere: true });
    },
  });
  assert.equal(end.status, 7);
});

test("a program whose signal listener keeps it running keeps its segments, until it is killed", async () => {
  await exitPath(["listener-stays", "SIGTERM"], {
    drive: async (child, made) => {
      child.kill("SIGTERM");
      assert.deepEqual(await child.line<Handled>(1), { handled: "SIGTERM", allThere: true });
      assert.ok(made.tracked.every(segmentExists));
      child.kill("SIGKILL");
    },
  });
});

test("a signal listener added before the first segment stays in charge of its signal", async () => {
  await exitPath(["listener-before-create", "SIGTERM"], {
    drive: async (child, made) => {
      child.kill("SIGTERM");
      assert.deepEqual(await child.line<Handled>(1), { handled: "SIGTERM", allThere: true });
      assert.ok(made.tracked.every(segmentExists));
      child.kill("SIGKILL");
    },
  });
});

test("an uncaught error that the program handles leaves its segments, and exit cleans them", async () => {
  const end = await exitPath(["throw-handled"], {
    drive: async (child) => {
      assert.deepEqual(await child.line<Handled>(1), { handled: "uncaughtException", allThere: true });
    },
  });
  assert.equal(end.status, 5);
});

test("the crash watcher survives the Ctrl-C that reaches its parent's process group", async () => {
  await exitPath(["listener-stays", "SIGINT"], {
    drive: async (child) => {
      child.kill("SIGINT", true);
      await child.line<Handled>(1);
      child.kill("SIGKILL");
    },
  });
});

test("Deno without --allow-run says in one line why there is no crash watcher, and still cleans up at exit", async () => {
  const command = [runtimePath("deno"), "run", "--allow-ffi", `${ROOT}${FIXTURE}`, "end"];
  const end = await exitPath(["end"], { command });
  assert.equal(end.status, 0);
  const reasons = end.stderr.split("\n").filter((line) => line.includes("no crash watcher"));
  assert.equal(reasons.length, 1, end.stderr);
  assert.match(reasons[0], /Deno needs --allow-run.*still unlinked when this process exits.*SIGKILL/);
});

for (const ending of ["end", "exit", "throw"]) {
  test(`a child that attaches and ends (${ending}) never removes its parent's segment`, async () => {
    using shm = new SharedMemory({ create: true, size: 16 });
    const child = launch(scriptCommand(THIS_RUNTIME, "tests/fixtures/tracking_attach.ts", [shm.name, ending]));
    const end = await child.ended;
    assert.equal(end.status, ending === "throw" ? 1 : 0, end.stderr);
    assert.ok(segmentExists(shm.name));
    assert.equal(shm.buf[0], 42);
    assert.equal(warnings(end.stderr).length, 0);
  });
}

test("a segment this process unlinks through any handle is no longer tracked", () => {
  const shm = new SharedMemory({ create: true, size: 16 });
  try {
    assert.ok(trackedNames().includes(shm.name));
    const attached = new SharedMemory(shm.name);
    attached.unlink();
    attached.close();
    assert.equal(trackedNames().includes(shm.name), false);
  } finally {
    shm.close();
    removeIfPresent(shm.name);
  }
});

test("track: false creates a segment that nothing in this process tracks", () => {
  using shm = new SharedMemory({ create: true, size: 16, track: false });
  assert.equal(trackedNames().includes(shm.name), false);
});
