/**
 * Names as a terminal may show them. A segment's name is any bytes but `/` and NUL, and any local user
 * can make one: a `\r`, an ANSI escape or a newline in it could hide rows or forge them in another
 * user's output. So every name the library or the `shm` command prints goes through `printableName`.
 */

/** Characters printed as they are: letters, digits, punctuation, symbols and marks, except the backslash. */
const SAFE = /^[\p{L}\p{N}\p{P}\p{S}\p{M}]$/u;

/**
 * `name` with every character outside letters, digits, punctuation, symbols and marks escaped, and the
 * backslash too, so that the result is one line with no control, format, bidi or space character:
 * `\r` -> `\x0d`, ESC -> `\x1b`, a space -> `\x20`, U+202E -> `\u{202e}`.
 */
export function printableName(name: string): string {
  let out = "";
  for (const char of name) {
    if (char !== "\\" && SAFE.test(char)) {
      out += char;
      continue;
    }
    const code = char.codePointAt(0)!;
    out += code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  }
  return out;
}

/** `text` with control characters (C0, DEL, C1) escaped: for whole messages, which keep their spaces. */
export function printableText(text: string): string {
  // deno-lint-ignore no-control-regex -- control characters are what this escapes
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
