/**
 * What the channel tests share: a channel made for a test and proved gone after it, and the channel peer
 * (tests/fixtures/channel_peer.ts, and its Python twin) started as a real process, on a CPU if asked.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { Channel } from "../../mod.ts";
import { PYTHON, ROOT, type Runtime, scriptCommand } from "./processes.ts";
import { segmentExists, uniqueName } from "./segments.ts";

/** Who runs a channel peer: a runtime, or python3. */
export type ChannelPeer = Runtime | "python";

/** Runs `body` with a new channel named after `tag`, then proves its segment is gone (by name: Bun runs other files' tests meanwhile). */
export async function withChannel(
  tag: string,
  options: Parameters<typeof Channel.create>[0],
  body: (c: Channel) => Promise<void> | void,
): Promise<void> {
  const name = uniqueName(tag);
  const channel = Channel.create({ ...options, name });
  try {
    await body(channel);
  } finally {
    channel[Symbol.dispose]();
    assert.equal(segmentExists(name), false, `segment ${name} left behind`);
  }
}

/** A started peer: `done` resolves with its exit and output, or rejects after its limit, killing it. */
export interface StartedPeer {
  readonly child: ReturnType<typeof spawn>;
  readonly done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

/** Starts the channel peer of `peer` with `args`, under `taskset -c cpu` when `cpu` is given. */
export function startChannelPeer(
  peer: ChannelPeer,
  args: string[],
  { limitMs = 60_000, cpu }: { limitMs?: number; cpu?: number } = {},
): StartedPeer {
  const command = peer === "python"
    ? [PYTHON, `${ROOT}tests/fixtures/channel_peer.py`, ...args]
    : scriptCommand(peer, "tests/fixtures/channel_peer.ts", args);
  const [file, ...rest] = cpu === undefined ? command : ["taskset", "-c", String(cpu), ...command];
  const child = spawn(file, rest, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONPATH: `${ROOT}python` },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => stdout += chunk);
  child.stderr!.on("data", (chunk) => stderr += chunk);
  const where = cpu === undefined ? "" : ` on CPU ${cpu}`;
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`${peer} ${args[0]}${where} did not finish in ${limitMs} ms\n${stderr}`));
      }, limitMs);
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    },
  );
  return { child, done };
}

/** A peer's stdout (trimmed), once it exits 0; a failure with its stderr otherwise. */
export async function ok(peer: StartedPeer): Promise<string> {
  const result = await peer.done;
  assert.equal(result.code, 0, `exited with ${result.code ?? result.signal}\n${result.stderr}`);
  return result.stdout.trim();
}
