/**
 * Opening a symbol table in which some symbols may be missing, for the FFIs whose `dlopen` fails whole
 * when one symbol is missing (Bun's, Node's): Deno marks a symbol `optional: true` itself.
 */

/** A declaration with the `optional` mark that a runtime's own declaration lacks. */
export type MaybeOptional<S> = S & { optional?: true };

/**
 * Opens the required symbols of `table` together and each optional one in a `dlopen` of its own, left
 * undefined when missing (an extra `dlopen` of a loaded library costs ~0.1 ms). `open` is the runtime's
 * `dlopen` of one library, returning its functions by name.
 */
export function openWithOptional<S, F>(
  open: (symbols: Record<string, S>) => Record<string, F>,
  table: Record<string, MaybeOptional<S>>,
): Record<string, F> {
  const required: Record<string, S> = {};
  const optional: Record<string, S> = {};
  for (const [name, { optional: isOptional, ...symbol }] of Object.entries(table)) {
    (isOptional ? optional : required)[name] = symbol as S;
  }
  const opened = { ...open(required) };
  for (const [name, symbol] of Object.entries(optional)) {
    try {
      opened[name] = open({ [name]: symbol })[name];
    } catch {
      // missing from this libc: left undefined
    }
  }
  return opened;
}
