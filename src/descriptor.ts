/**
 * Reading a descriptor, the hand-over form of every shared object: the object itself, that object as a
 * JSON string (a string starting with `{`), or a bare segment name (offset 0). The base fields every
 * kind shares are checked here, once; each kind checks its own fields after.
 *
 * ```
 * { "kind": "list", "name": "psm_1a2b3c4d", "offset": 0 }       '{"kind":"list",...}'       "psm_1a2b3c4d"
 *   an object (from .descriptor, postMessage, a Python dict)      its JSON (argv, a pipe)     a name alone
 * ```
 *
 * Its own file (it imports no kind of object), so that `SharedMemory` and `src/shared_object.ts` both use it.
 */
import { describe, withArticle } from "./describe.ts";

/** What every descriptor holds: what the object is, the segment it is in, and where in it. */
export interface BaseDescriptor {
  /** What the object is: `"shm"`, `"list"`, `"array"`, `"mutex"`, ... */
  readonly kind: string;
  /** The segment's name, without the leading `/`. */
  readonly name: string;
  /** The object's byte offset in the segment (0 when the descriptor has none). */
  readonly offset: number;
}

/** Whether `value` is a descriptor's JSON text rather than a segment name: a string starting with `{`. */
export function isDescriptorJson(value: unknown): value is string {
  return typeof value === "string" && value.trimStart().startsWith("{");
}

/**
 * The descriptor's fields, with `kind` checked to be `kind` and `offset` defaulted to 0: a TypeError for
 * JSON that does not parse, a value that is not an object, another kind, a missing name or a bad offset.
 * `kindOptional` also takes a descriptor without `kind` (arrays' descriptors had none at first).
 */
export function readDescriptor(
  value: unknown,
  kind: string,
  kindOptional = false,
): Record<string, unknown> & BaseDescriptor {
  if (typeof value === "string") {
    if (!isDescriptorJson(value)) return { kind, name: value, offset: 0 };
    try {
      value = JSON.parse(value);
    } catch (cause) {
      throw new TypeError(`${withArticle(kind)} descriptor is not valid JSON: ${(cause as Error).message}`, {
        cause,
      });
    }
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(
      `${withArticle(kind)} descriptor must be an object { kind, name, offset } or a name, got ${
        Array.isArray(value) ? "an array" : describe(value)
      }`,
    );
  }
  const d = value as Record<string, unknown>;
  if (d.kind !== kind && !(kindOptional && d.kind === undefined)) {
    const found = typeof d.kind === "string" ? withArticle(describe(d.kind)) : `kind ${describe(d.kind)}`;
    throw new TypeError(`the descriptor is of ${found}, not of ${withArticle(`'${kind}'`)}`);
  }
  if (typeof d.name !== "string" || d.name === "") {
    throw new TypeError(`descriptor.name must be a segment name, got ${describe(d.name)}`);
  }
  const offset = d.offset ?? 0;
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    throw new TypeError(`descriptor.offset must be a whole number >= 0, got ${describe(offset)}`);
  }
  return { ...d, kind, name: d.name, offset };
}
