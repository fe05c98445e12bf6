/**
 * Benchmark 4: ShareableList get and set on a `list_items`-item list, ints and short strings, per item.
 * The list lives in src/shareable_list.ts; until that file exists the benchmark reports itself skipped.
 */
import { existsSync } from "node:fs";
import process from "node:process";
import type { Config } from "./config.ts";
import { check, emit, IMPL, log, microPolicy, time } from "./harness.ts";

/** The part of the ShareableList API used here. */
interface List<T> {
  get(index: number): T;
  set(index: number, value: T): void;
  close(): void;
  readonly shm: { unlink(): void };
}

type ListClass = new <T>(values: T[]) => List<T>;

const SOURCE = new URL("../src/shareable_list.ts", import.meta.url);

/** The value kinds measured, each with its initial values and the values written. */
const CASES = {
  int: { values: (i: number) => i, replacement: (i: number) => i + 1 },
  str: { values: (i: number) => `s${i}`, replacement: (i: number) => `x${i % 100}` },
};

export async function run(config: Config): Promise<void> {
  if (!existsSync(SOURCE)) {
    process.stdout.write(JSON.stringify({ bench: "list", skipped: "src/shareable_list.ts does not exist yet" }) + "\n");
    return;
  }
  const specifier = SOURCE.href; // not a literal: `deno check` must not need the file
  const { ShareableList } = (await import(specifier)) as { ShareableList: ListClass };
  const n = config.list_items;
  for (const [kind, { values, replacement }] of Object.entries(CASES)) {
    const list = new ShareableList<number | string>(Array.from({ length: n }, (_, i) => values(i)));
    try {
      const replacements = Array.from({ length: n }, (_, i) => replacement(i));
      let seen: unknown;
      const getAll = () => {
        for (let i = 0; i < n; i++) seen = list.get(i);
      };
      const setAll = () => {
        for (let i = 0; i < n; i++) list.set(i, replacements[i]);
      };
      for (const [op, fn] of [["get", getAll], ["set", setAll]] as const) {
        log(`${op} ${kind} x ${n}`);
        const stats = await time(fn, microPolicy(config), n);
        emit({ bench: "list", op: `${op}/${kind}`, impl: IMPL, unit: "item", ...stats });
      }
      check(seen !== undefined && list.get(n - 1) === replacements[n - 1], "the list holds what was set");
    } finally {
      list.close();
      list.shm.unlink();
    }
  }
}
