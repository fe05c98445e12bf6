/** A short description of a value for an error message: its own file, so that every checker imports it without a cycle. */

/** `'text'`, `12n`, `null`, `3`, `undefined`, or the value's type (`object`, `function`, `symbol`). */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `'${value}'`;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number" || typeof value === "boolean" || value === undefined) return String(value);
  return typeof value;
}

/** A kind's name with "a" or "an" before it, for a message: "an array", "a mutex", "an 'event'". */
export function withArticle(noun: string): string {
  return `${/^'?[aeiou]/.test(noun) ? "an" : "a"} ${noun}`;
}
