/** The JSON message of the channel benchmarks: a small record, as a work queue would carry. */
export function jsonValue(i: number): { id: number; name: string; tags: string[]; values: number[]; ok: boolean } {
  return { id: i, name: "frame", tags: ["a", "b"], values: [i, i + 1, i + 2, 0.5], ok: true };
}
