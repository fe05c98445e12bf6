/**
 * No file of src/ imports itself back, even through types: a reader can start at any file and follow
 * its imports down without coming back to it (issue 13: arguments.ts, names.ts and shared_memory.ts
 * imported each other).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "./helpers/processes.ts";

/** Every .ts file under `folder`, as a path from the repository root. */
function filesUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => join(folder, file));
}

/** The relative imports and re-exports of a file (`import type` included), as paths from the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const found = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*"(\.[^"]+)"/gms)].map((m) => m[1]);
  return found.map((path) => relative(ROOT, resolve(ROOT, dirname(file), path)));
}

/** The import graph of `files`: each file's imports among them. */
function graphOf(files: readonly string[]): Map<string, string[]> {
  return new Map(files.map((file) => [file, importsOf(file).filter((to) => files.includes(to))]));
}

/** The cycles of a graph: each as the path round from a file back to itself. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const walk = (file: string, path: string[]): void => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      found.push([...path.slice(path.indexOf(file)), file]);
      return;
    }
    state.set(file, "open");
    for (const to of graph.get(file)!) walk(to, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) walk(file, []);
  return found;
}

test("the finder finds a cycle through types as main had it, and none in a chain", () => {
  const old = new Map([
    ["src/arguments.ts", ["src/names.ts", "src/shared_memory.ts"]],
    ["src/names.ts", ["src/arguments.ts"]],
    ["src/shared_memory.ts", ["src/arguments.ts"]],
  ]);
  assert.deepEqual(cycles(old).map((cycle) => cycle.join(" -> ")), [
    "src/arguments.ts -> src/names.ts -> src/arguments.ts",
    "src/arguments.ts -> src/shared_memory.ts -> src/arguments.ts",
  ]);
  assert.deepEqual(cycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", []]])), []);
  assert.ok(importsOf("src/shared_memory.ts").includes("src/arguments.ts"), "imports are read, type ones too");
});

test("no file of src/ imports itself back, through types or values", () => {
  const files = filesUnder("src");
  assert.ok(files.length > 10);
  assert.deepEqual(cycles(graphOf(files)).map((cycle) => cycle.join(" -> ")), []);
});
