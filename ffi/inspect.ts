/** How each runtime's console asks an object for its printed form: Deno's symbol, and Node's (Bun uses Node's). */
const INSPECT_SYMBOLS = [Symbol.for("Deno.customInspect"), Symbol.for("nodejs.util.inspect.custom")];

/** Makes `console.log` print the instances of a class as their `toString()`, in every runtime. */
export function printAsString(prototype: object): void {
  for (const symbol of INSPECT_SYMBOLS) {
    Object.defineProperty(prototype, symbol, {
      value: function printed(this: object): string {
        return String(this);
      },
      configurable: true,
      writable: true,
    });
  }
}
