/**
 * The runtime's side of "no segment outlives its use": running a cleanup however this process ends
 * while it can still run code, and starting the crash watcher (`watcher.ts`) for when it cannot.
 *
 * Signals: a listener changes what a signal does (without one, SIGINT, SIGTERM and SIGHUP kill the
 * process), so ours acts only when the program has none of its own: it cleans up, restores the default
 * action and sends the signal again, so that the process still dies by that signal (130, 143, 129 in a
 * shell). When the program listens itself, the program decides: if it exits, the exit hooks clean up;
 * if it keeps running, its segments stay (and if it dies later, the watcher removes them). A signal
 * ignored from the start (`nohup`, a background job) cannot end the process: it gets no listener and
 * stays ignored.
 *
 * Deno cannot list signal listeners, so the program's are counted from the first tracked segment on
 * (`process_deno.ts`); a signal that already had a handler then is left to the program, and to the
 * watcher. Likewise an uncaught error or rejection counts as handled when a `process.on` listener or
 * an earlier `error` / `unhandledrejection` listener handled it; a web listener added after the first
 * tracked segment that calls `preventDefault()` comes too late to keep the segments.
 */
import { PIPE_CLOEXEC, processRuntime, type SignalName, SIGNALS } from "./process.ts";
import { currentRuntime } from "./runtime.ts";
import { type Change, leftoverWarning, protocolLine } from "./watcher.ts";

export { leftoverWarning };

/** `sizeof(struct sigaction)` is 152 on glibc x86-64 and arm64, 16 on macOS: this is room for either. */
const SIGACTION_BYTES = 256;
/** `sa_handler` is the first field everywhere: SIG_DFL is 0, SIG_IGN is 1. */
const SIG_DFL = 0n;
const SIG_IGN = 1n;

/** What `signal` does now: its default action, nothing, or a handler someone installed. */
function disposition(signal: number): "default" | "ignored" | "handled" {
  const old = new Uint8Array(SIGACTION_BYTES);
  if (processRuntime().sys.sigaction(signal, null, old) < 0) return "handled";
  const handler = new DataView(old.buffer).getBigUint64(0, true);
  return handler === SIG_DFL ? "default" : handler === SIG_IGN ? "ignored" : "handled";
}

/** Sets what `signal` does to its default action (`SIG_DFL`) or to nothing (`SIG_IGN`). */
function setDisposition(signal: number, handler: bigint): void {
  const act = new Uint8Array(SIGACTION_BYTES);
  new DataView(act.buffer).setBigUint64(0, handler, true);
  processRuntime().sys.sigaction(signal, act, null);
}

/**
 * Runs `cleanup` (synchronously, at most as often as it is called for) when this process ends: out of
 * work, `process.exit()`, `Deno.exit()`, an uncaught error or unhandled rejection, and SIGINT, SIGTERM
 * and SIGHUP when the program does not handle them itself. Nothing runs on SIGKILL: see `startWatcher`.
 */
export function whenProcessEnds(cleanup: () => void): void {
  const runtime = processRuntime();
  runtime.onExit(cleanup);
  // Read every disposition before listening: Deno installs its handler for all three at its first listener.
  const signals = Object.entries(SIGNALS).map(([signal, number]) => ({
    signal: signal as SignalName,
    number,
    now: disposition(number),
  }));
  for (const { signal, number, now } of signals) {
    if (now === "ignored" || (now === "handled" && !runtime.seesEarlierListeners)) continue;
    const listener = () => {
      if (runtime.programListens(signal, listener)) return;
      cleanup();
      // Die by the signal, as without a listener: restore its default action and send it again.
      setDisposition(number, SIG_DFL);
      runtime.sys.kill(runtime.pid, number);
    };
    runtime.listen(signal, listener);
  }
  // A signal ignored from the start (nohup, a background job) stays ignored, although Deno took it over.
  for (const { number, now } of signals) if (now === "ignored") setDisposition(number, SIG_IGN);
}

/** The write end of a crash watcher's pipe. */
export interface CrashWatcher {
  /** Tells the watcher a segment was created (`+`) or unlinked (`-`); false once the watcher is gone. */
  send(change: Change, name: string): boolean;
}

const encoder = new TextEncoder();

/**
 * Starts the crash watcher, or says why it cannot, as a clause such as "Deno needs --allow-run to
 * start one"; throws if starting it fails. A failure the child has after it started shows as `send`
 * returning false.
 */
export function startWatcher(): CrashWatcher | string {
  const runtime = currentRuntime();
  const flags = runtime && PIPE_CLOEXEC[runtime.os];
  if (flags === undefined) return `it needs pipe2, which ${runtime?.os ?? "this system"} lacks`;
  const script = new URL("./watcher.ts", import.meta.url);
  const { sys, pid, whyNoWatcher, spawn } = processRuntime();
  const why = whyNoWatcher(script);
  if (why) return why;
  if (!sys.pipe2) return "it needs pipe2, which this libc lacks";
  // Both ends close on exec, so that no other child of this process holds the pipe open; the child gets
  // a copy of the read end without that flag, which this process closes again once the child has it.
  const fds = new Int32Array(2);
  if (sys.pipe2(fds, flags) < 0) return "its pipe could not be made";
  const [readEnd, writeEnd] = fds;
  const inherited = sys.dup(readEnd);
  if (inherited < 0) {
    sys.close(readEnd);
    sys.close(writeEnd);
    return "its pipe could not be made";
  }
  try {
    spawn(script, inherited, [String(pid)]);
  } catch (error) {
    sys.close(writeEnd);
    throw error;
  } finally {
    sys.close(inherited);
    sys.close(readEnd);
  }
  let open = true;
  return {
    send(change, name) {
      if (!open) return false;
      const line = encoder.encode(protocolLine(change, name));
      // Lines are far below PIPE_BUF, so each write is whole or fails (EPIPE once the watcher is gone).
      open = sys.write(writeEnd, line) === line.length;
      if (!open) sys.close(writeEnd);
      return open;
    },
  };
}
