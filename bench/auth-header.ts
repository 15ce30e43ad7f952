// Micro-benchmark of the Digest header parser and formatter (RFC 2617 3.2 / RFC 3310, src/sip/auth-header.ts)
// against the pre-rewrite implementation kept in test/auth-header-reference.ts: the Authorization and
// WWW-Authenticate values of a real registration (the demo scenario's trace: SM1's empty Authorization, the
// 401's challenge with ik/ck, SM7's answer), parsed and formatted in alternating blocks (old, new, old, ...)
// so that load on a shared machine falls on both alike. CPU time (process.cpuUsage) per header, median over
// the rounds and the spread (min-max).  node --import tsx bench/auth-header.ts [--rounds 30] [--reps 2000]

import { formatAuthHeader, initSync, parseAuthHeader, parseSipMessage, serializeSipMessage, type AuthHeader } from '../src/index.js';
import { MemoryNetwork, runScenario } from '../src/ims/index.js';
import { referenceFormatAuthHeader, referenceParseAuthHeader } from '../test/auth-header-reference.js';

initSync();
const arg = (name: string, d: number): number => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const rounds = arg('rounds', 30);
const reps = arg('reps', 2000);

const r = await runScenario({ net: new MemoryNetwork(), address: '10.0.0.1', notifies: 1 });
const headers: string[] = [];
for (const e of r.trace) {
  const m = parseSipMessage(serializeSipMessage(e.message));
  for (const v of [...m.headers.getAll('authorization'), ...m.headers.getAll('www-authenticate')]) if (!headers.includes(v)) headers.push(v);
}

const cpuUs = (): number => { const u = process.cpuUsage(); return u.user + u.system; };
let sink = 0;
function parseBlock(parse: (v: string) => AuthHeader): number {
  const t = cpuUs();
  for (let k = 0; k < reps; k++) for (const h of headers) sink += parse(h).params.length;
  return (cpuUs() - t) / (reps * headers.length);
}
function formatBlock(format: (h: AuthHeader) => string, parsed: AuthHeader[]): number {
  const t = cpuUs();
  for (let k = 0; k < reps; k++) for (const h of parsed) sink += format(h).length;
  return (cpuUs() - t) / (reps * parsed.length);
}
const parsed = headers.map((h) => parseAuthHeader(h));
const res = { parseOld: [] as number[], parseNew: [] as number[], formatOld: [] as number[], formatNew: [] as number[] };
for (let i = 0; i < rounds; i++) {
  const newFirst = i % 2 === 1;
  for (const which of newFirst ? ['new', 'old'] : ['old', 'new']) {
    if (which === 'old') { res.parseOld.push(parseBlock(referenceParseAuthHeader)); res.formatOld.push(formatBlock(referenceFormatAuthHeader, parsed)); }
    else { res.parseNew.push(parseBlock(parseAuthHeader)); res.formatNew.push(formatBlock(formatAuthHeader, parsed)); }
  }
}
const skip = Math.min(2, rounds - 1); // the first rounds warm the JIT
const stat = (xs: number[]): string => {
  const s = xs.slice(skip).sort((a, b) => a - b);
  return `${s[s.length >> 1]!.toFixed(3)} us (min ${s[0]!.toFixed(3)}, max ${s[s.length - 1]!.toFixed(3)})`;
};
console.log(`${headers.length} header values (${headers.map((h) => h.length).join(', ')} characters), ${rounds} rounds x ${reps} reps, alternated, first ${skip} rounds not counted; CPU time per header:`);
console.log(`  parse   old ${stat(res.parseOld)}   new ${stat(res.parseNew)}`);
console.log(`  format  old ${stat(res.formatOld)}   new ${stat(res.formatNew)}`);
if (sink === 0.5) console.log(sink);
