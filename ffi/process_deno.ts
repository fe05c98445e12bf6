/** Deno's exit events, signal listeners and subprocesses. Only `runtime.ts` imports this file, and only inside Deno. */
import type { SignalName } from "./platforms.ts";
import type { ProcessRuntime } from "./process.ts";

/**
 * The program's own signal listeners, counted from the moment this runtime object is made: Deno has no
 * way to ask, so `Deno.addSignalListener` and `Deno.removeSignalListener` (which `process.on` uses too)
 * are wrapped to count them. Ours are added with the originals and are never counted.
 */
function countProgramListeners() {
  const counted = new Map<string, Set<unknown>>();
  const add = Deno.addSignalListener;
  const remove = Deno.removeSignalListener;
  const of = (signal: string) => counted.get(signal) ?? counted.set(signal, new Set()).get(signal)!;
  Deno.addSignalListener = (signal, handler) => {
    add(signal, handler);
    of(signal).add(handler);
  };
  Deno.removeSignalListener = (signal, handler) => {
    remove(signal, handler);
    of(signal).delete(handler);
  };
  return { add, count: (signal: string) => of(signal).size };
}

/** Whether an uncaught error or rejection is handled: by a web listener before ours, or by `process.on`. */
function handled(event: Event, nodeEvent: string): boolean {
  const process = (globalThis as { process?: { listenerCount(event: string): number } }).process;
  return event.defaultPrevented || (process?.listenerCount(nodeEvent) ?? 0) > 0;
}

/** Deno's process. Made once, at the first tracked segment: from then on the program's signal listeners are counted. */
export function denoProcess(): ProcessRuntime {
  const signals = countProgramListeners();
  return {
    pid: Deno.pid,
    // Falling off the end, Deno.exit() and process.exit() all dispatch `unload`; an uncaught error or
    // rejection dispatches only `error` / `unhandledrejection` (docs/runtime-facts.md).
    onExit(cleanup) {
      addEventListener("unload", cleanup);
      addEventListener("error", (event) => handled(event, "uncaughtException") || cleanup());
      addEventListener("unhandledrejection", (event) => handled(event, "unhandledRejection") || cleanup());
    },
    listen: (signal: SignalName, listener) => signals.add(signal, listener),
    programListens: (signal: SignalName) => signals.count(signal) > 0,
    seesEarlierListeners: false,
    whyNoWatcher() {
      if (Deno.build.standalone) return "a compiled program cannot start one";
      const run = Deno.permissions.querySync({ name: "run", command: Deno.execPath() });
      return run.state === "granted" ? undefined : "Deno needs --allow-run to start one";
    },
    spawn(script, fd, args) {
      // The child inherits `fd` (close-on-exec clear) at the same number; `detached` gives it its own session.
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-ffi", "--no-prompt", "--quiet", "--no-config", script.href, String(fd), ...args],
        stdin: "null",
        stdout: "null",
        stderr: "inherit",
        detached: true,
      }).spawn();
      child.unref();
    },
  };
}
