// Interned tokens for the parsers of header parameters (RFC 3261 25.1 token; auth-header.ts for RFC 2617 /
// RFC 3310 Digest, secagree/header.ts for RFC 3329 / TS 33.203 Security-*): a parameter name or value
// written exactly as one of a fixed list is returned as that list's constant instead of a new slice of
// the header. Nothing about the result changes (the same characters); a registration's headers name the
// same dozen parameters each time, and each slice was a string allocated per parameter per message.

/** Words by length, for {@link tokenAt}. */
export type TokenTable = ReadonlyArray<readonly string[] | undefined>;

/** A table of `words` (each as it is to be returned). */
export function tokenTable(words: readonly string[]): TokenTable {
  const t: string[][] = [];
  for (const w of words) (t[w.length] ??= []).push(w);
  return t;
}

/** The word of `table` that s[i, end) is exactly, or undefined. */
export function tokenAt(table: TokenTable, s: string, i: number, end: number): string | undefined {
  const words = table[end - i];
  if (words !== undefined) for (const w of words) if (s.startsWith(w, i)) return w;
  return undefined;
}
