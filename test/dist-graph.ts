// The module graph of a built entry point (dist/), followed through relative imports: what a browser would
// load from it, and every bare or built-in specifier it meets on the way (which a browser could not load).

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

/** Walks the static and dynamic imports from `entries` (paths below dist/). */
export function distGraph(...entries: string[]): { seen: Set<string>; bad: string[] } {
  const seen = new Set<string>();
  const bad: string[] = [];
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (!spec.startsWith('.')) bad.push(`${file.slice(DIST.length + 1)} imports ${spec}`);
      else walk(resolve(dirname(file), spec));
    }
  };
  for (const e of entries) walk(join(DIST, e));
  return { seen, bad };
}
