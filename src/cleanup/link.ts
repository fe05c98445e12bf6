/**
 * This thread's link to the process's one crash watcher (`watcher.ts`): finding it or starting it, and
 * writing to it without ever blocking.
 *
 * One watcher per process. Workers are threads of one process and file descriptors are process-wide, so
 * every thread can write to the same pipe. The write end is published in libc's environment (one per
 * process, shared by all its threads) as `SHARED_MEMORY_WATCHER_<pid>=up:FD:DEV:INO`; the pid in the key
 * keeps a child that inherits the environment from using it, and DEV:INO (the pipe's identity) is
 * checked before a thread adopts FD. Starting is claimed with `setenv(..., overwrite = 0)`, which libc
 * runs under its lock: the first thread writes `starting:TOKEN:MS`, starts the watcher and publishes it;
 * the others wait for it (at most `START_WAIT_MS`, then they take over). A failed start publishes
 * `down:MS:PERMANENT`, so that the other threads neither print the reason again nor retry a permanent
 * failure. A published write end is never closed: another thread may still hold its number.
 *
 * Never blocking: the write end is O_NONBLOCK (the read end, the watcher's, stays blocking). A full pipe
 * (the watcher stopped or slow) returns EAGAIN: the lines wait in memory and go out with the next send,
 * one warning line the first time. While they wait, lines that cancel out (a name announced, made and
 * unlinked before anything about it was sent) are dropped, so a stalled watcher costs memory for the
 * names alive, not for the history. A gone watcher (EPIPE): one warning line, and a new one is started at
 * once (or, if that fails, at a later tracked create), to which this thread sends every name it still tracks.
 */
import { libc, processRuntime, systemCalls } from "../../ffi/runtime.ts";
import { messageOf, warn } from "./warnings.ts";

/** Linux's PIPE_BUF: a write of at most this many bytes to a pipe is whole or fails (only Linux has a watcher). */
const PIPE_BUF = 4096;

/**
 * The pipe's capacity asked for (the default is 64 KiB): Linux's limit for unprivileged processes,
 * 1 MiB, holds the lines of about 5,000 creates, made while the watcher is still starting (a runtime
 * takes 50-300 ms to start) or while it sleeps between reads.
 */
const PIPE_BYTES = 1 << 20;

/** How long a thread waits for another thread that is starting the watcher, before it starts one itself. */
const START_WAIT_MS = 1000;

/**
 * After a start that failed in spawning, how long before a thread tries again. A pipe that could not be
 * made (EMFILE) costs nothing to try again, at the next create; a permanent failure is never retried.
 */
const RETRY_MS = 1000;

/** The watcher's entry point, for `ProcessRuntime.spawn`. */
const WATCHER_SCRIPT = new URL("../../ffi/watcher.ts", import.meta.url);

/** What the environment says about this process's watcher. */
type Published =
  | { state: "up"; fd: number; dev: number; ino: number }
  | { state: "starting"; sinceMs: number }
  | { state: "down"; retryAt: number; permanent: boolean }
  | undefined;

function parsePublished(value: string | undefined): Published {
  const [state, a, b, c] = value?.split(":") ?? [];
  if (state === "up") return { state, fd: Number(a), dev: Number(b), ino: Number(c) };
  if (state === "starting") return { state, sinceMs: Number(b) };
  if (state === "down") return { state, retryAt: Number(a), permanent: b === "1" };
  return undefined;
}

/** Sleeps this thread for `ms` (a Worker or the main thread alike); only while another thread starts the watcher. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Why a start failed, and when trying again could help (never, if `permanent`). */
class NoWatcher {
  readonly why: string;
  readonly permanent: boolean;
  readonly retryAt: number;
  constructor(why: string, permanent: boolean, retryAt = Date.now() + RETRY_MS) {
    this.why = why;
    this.permanent = permanent;
    this.retryAt = retryAt;
  }
}

/** This thread's side of the watcher's pipe. */
export class WatcherLink {
  /** The write end this thread writes to, while the watcher is known to read. */
  #fd: number | undefined;
  /** A write end found dead (EPIPE): never adopted again. */
  #deadFd: number | undefined;
  /** Lines not yet written, by resource (`kind:name`), in order within each. */
  readonly #pending = new Map<string, string[]>();
  readonly #buffer = new Uint8Array(PIPE_BUF);
  readonly #replay: () => Iterable<[string, string]>;
  #permanent = false;
  #retryAt = 0;
  #warnedStall = false;
  #warnedDown = false;
  /** EAGAIN's number, read once (a write to a full pipe is checked against it at every send while it stays full). */
  #EAGAIN: number | undefined;

  /** `replay` gives the lines that tell a new watcher what this thread still tracks. */
  constructor(replay: () => Iterable<[string, string]>) {
    this.#replay = replay;
  }

  /** Finds or starts the watcher unless one is linked; never throws. Called before each tracked create. */
  ensure(): void {
    if (this.#fd !== undefined || this.#permanent || Date.now() < this.#retryAt) return;
    let result: number | NoWatcher;
    try {
      result = this.#join();
    } catch (error) {
      result = new NoWatcher(`it could not start: ${messageOf(error)}`, false);
    }
    if (result instanceof NoWatcher) {
      this.#permanent = result.permanent;
      this.#retryAt = result.retryAt;
      return;
    }
    this.#fd = result;
    this.#warnedDown = false;
    for (const [key, line] of this.#replay()) this.#queue(key, line);
    this.#flush();
  }

  /** Sends `line` about resource `key`, with whatever waits; never blocks, never throws. */
  send(key: string, line: string): void {
    if (this.#fd === undefined) return;
    if (this.#pending.size === 0) {
      // Nothing waits (the common case): one write of this line.
      this.#copy(line, 0);
      if (this.#write(line.length, [])) return;
    }
    if (this.#fd !== undefined) {
      this.#queue(key, line);
      this.#flush();
    }
    // The watcher is gone: start another now, which hears every claim (this line's change included: the
    // caller records a change before it sends it).
    if (this.#fd === undefined) this.ensure();
  }

  /** Copies ASCII `text` (names are URI-encoded) into the buffer at `at`; TextEncoder costs about 1 us in Deno. */
  #copy(text: string, at: number): void {
    for (let i = 0; i < text.length; i++) this.#buffer[at + i] = text.charCodeAt(i);
  }

  /** The pid-keyed environment variable; read each time (a Worker's runtime knows the same pid). */
  #key(): string {
    return `SHARED_MEMORY_WATCHER_${processRuntime().pid}`;
  }

  /** Adopts the process's watcher, or starts it: its write end, or why there is none. */
  #join(): number | NoWatcher {
    const sys = systemCalls();
    const key = this.#key();
    const deadline = Date.now() + START_WAIT_MS;
    for (;;) {
      // Bounded: past twice the wait, a start that cannot even be claimed (setenv failing) gives up.
      if (Date.now() > deadline + START_WAIT_MS) return new NoWatcher("its start could not be published", false);
      const published = parsePublished(sys.getenv(key));
      if (published?.state === "up" && this.#usable(published)) return published.fd;
      if (published?.state === "starting" && Date.now() < deadline) {
        sleepSync(1);
        continue;
      }
      if (published?.state === "down" && (published.permanent || Date.now() < published.retryAt)) {
        return new NoWatcher("another thread could not start it", published.permanent, published.retryAt);
      }
      // No usable watcher: claim the start. Only an absent value is claimed atomically; one judged
      // unusable (dead, stale) is overwritten, and the re-read says who won.
      const claim = `starting:${Math.random().toString(36).slice(2)}:${Date.now()}`;
      sys.setenv(key, claim, published !== undefined);
      if (sys.getenv(key) !== claim) continue;
      const started = this.#start();
      if (started instanceof NoWatcher) {
        sys.setenv(key, `down:${started.retryAt}:${started.permanent ? 1 : 0}`, true);
        warn(
          `shared-memory: no crash watcher (${started.why}); tracked segments are still unlinked when this process ` +
            `exits, but not if it is killed (SIGKILL, or a signal such as SIGTERM)` +
            (started.permanent ? "" : "; it is tried again at a later tracked create"),
        );
        return started;
      }
      const pipe = libc().fstatIdentity(started);
      if (typeof pipe !== "number") sys.setenv(key, `up:${started}:${pipe.dev}:${pipe.ino}`, true);
      return started;
    }
  }

  /** Whether a published write end is the pipe it says (not a number some other file took since) and not dead. */
  #usable(published: { fd: number; dev: number; ino: number }): boolean {
    if (published.fd === this.#deadFd) return false;
    const now = libc().fstatIdentity(published.fd);
    return typeof now !== "number" && now.dev === published.dev && now.ino === published.ino;
  }

  /** Starts the watcher: the pipe's write end, or why not. */
  #start(): number | NoWatcher {
    const sys = systemCalls();
    const runtime = processRuntime();
    if (!sys.pipe) return new NoWatcher("it needs pipe2, which this libc lacks", true);
    const why = runtime.whyNoWatcher(WATCHER_SCRIPT);
    if (why) return new NoWatcher(why, true);
    const code = (result: number) => libc().platform.errnoCodes[-result] ?? `E${-result}`;
    // Both ends close on exec, so that no other child holds the pipe open. Each is kept above 2: with
    // stdin, stdout or stderr closed (`2>&-`) a pipe end could take that number, and console output
    // would go into the pipe.
    const fds = sys.pipe();
    const now = Date.now();
    if (typeof fds === "number") return new NoWatcher(`its pipe could not be made: ${code(fds)}`, false, now);
    const ends = fds.map((fd) => {
      if (fd > 2) return fd;
      const moved = sys.duplicateAbove(fd, 3, true);
      sys.close(fd);
      return moved;
    });
    const [readEnd, writeEnd] = ends;
    // The child's copy of the read end, which does not close on exec.
    const inherited = readEnd < 0 ? readEnd : sys.duplicateAbove(readEnd, 3, false);
    const failed = [readEnd, writeEnd, inherited].find((fd) => fd < 0);
    const nonBlocking = failed === undefined ? sys.setNonBlocking(writeEnd) : 0;
    if (failed === undefined) sys.growPipe(writeEnd, PIPE_BYTES); // best effort: the default size works too
    if (failed !== undefined || nonBlocking < 0) {
      for (const fd of [readEnd, writeEnd, inherited]) if (fd >= 0) sys.close(fd);
      return new NoWatcher(`its pipe could not be made: ${code(failed ?? nonBlocking)}`, false, now);
    }
    try {
      runtime.spawn(WATCHER_SCRIPT, inherited, [String(runtime.pid)]);
    } catch (error) {
      sys.close(writeEnd);
      return new NoWatcher(`it could not start: ${messageOf(error)}`, false);
    } finally {
      sys.close(inherited);
      sys.close(readEnd);
    }
    return writeEnd;
  }

  /** Adds a line to what waits, dropping what cancels out: a `forget` of a name whose `announce` still waits. */
  #queue(key: string, line: string): void {
    const lines = this.#pending.get(key);
    if (line.startsWith("forget:") && lines) {
      const announced = lines.findLastIndex((waiting) => waiting.startsWith("announce:"));
      if (announced >= 0) {
        lines.length = announced;
        if (lines.length === 0) this.#pending.delete(key);
        return;
      }
    }
    if (lines) lines.push(line);
    else this.#pending.set(key, [line]);
  }

  /** Writes what waits, in writes of whole lines of at most PIPE_BUF bytes, until the pipe is full. */
  #flush(): void {
    let length = 0;
    let keys: string[] = [];
    for (const [key, lines] of this.#pending) {
      const text = lines.join("");
      if (length + text.length > PIPE_BUF && length > 0) {
        if (!this.#write(length, keys)) return;
        length = 0;
        keys = [];
      }
      this.#copy(text, length);
      length += text.length;
      keys.push(key);
    }
    if (length > 0) this.#write(length, keys);
  }

  /** Writes the first `length` bytes of the buffer, which hold the lines of `keys`; false if they must wait. */
  #write(length: number, keys: readonly string[]): boolean {
    const sys = systemCalls();
    const written = sys.write(this.#fd!, this.#buffer.subarray(0, length));
    if (written === length) {
      for (const key of keys) this.#pending.delete(key);
      return true;
    }
    if (written === -(this.#EAGAIN ??= sys.errnoOf("EAGAIN"))) {
      if (!this.#warnedStall) {
        this.#warnedStall = true;
        warn(
          "shared-memory: the crash watcher is not reading (still starting, stopped or overloaded); its changes " +
            "wait in memory, " +
            "and segments made meanwhile are unlinked at exit but not if this process is killed",
        );
      }
      return false;
    }
    // EPIPE: the watcher is gone. Its write end stays open (other threads may hold its number).
    this.#deadFd = this.#fd;
    this.#fd = undefined;
    this.#pending.clear();
    if (!this.#warnedDown) {
      this.#warnedDown = true;
      warn(
        "shared-memory: the crash watcher has stopped; tracked segments are still unlinked when this process " +
          "exits, and a new watcher is started",
      );
    }
    return false;
  }
}
