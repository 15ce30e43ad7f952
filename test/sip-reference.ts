// SIP parsing helpers as they were before the issue 17 fast paths, kept as references of the differential
// tests in sip-fast-paths.test.ts: the faster code must return exactly what these do, on real and mutated
// input.

import { unquote } from '../src/sip/grammar.js';
import { canonicalName, type SipMessage } from '../src/sip/message.js';

/** headerParam before issue 17: the parameters collected character by character into strings. */
export function referenceHeaderParam(value: string, name: string): string | undefined {
  let depth = 0;
  let quoted = false;
  const params: string[] = [];
  let cur = '';
  let inParams = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted) {
      if (ch === '\\') {
        if (inParams) cur += value.slice(i, i + 2);
        i++;
        continue;
      }
      if (ch === '"') quoted = false;
      if (inParams) cur += ch;
      continue;
    }
    if (ch === '"') { quoted = true; if (inParams) cur += ch; continue; }
    if (ch === '<') depth++;
    if (ch === '>') depth--;
    if (ch === ';' && depth === 0) {
      if (inParams) params.push(cur);
      inParams = true;
      cur = '';
      continue;
    }
    if (inParams) cur += ch;
  }
  if (inParams) params.push(cur);
  const wanted = name.toLowerCase();
  for (const p of params) {
    const eq = p.indexOf('=');
    const n = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (n !== wanted) continue;
    if (eq < 0) return '';
    const v = p.slice(eq + 1).trim();
    return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? unquote(v) : v;
  }
  return undefined;
}

/** serializeSipMessage before issue 17: the head built as one string, then encoded. */
export function referenceSerialize(msg: SipMessage): Uint8Array {
  let head = msg.type === 'request' ? `${msg.method} ${msg.uri} SIP/2.0\r\n` : `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
  for (const [name, value] of msg.headers) if (canonicalName(name) !== 'content-length') head += `${name}: ${value}\r\n`;
  head += `Content-Length: ${msg.body.length}\r\n\r\n`;
  const h = new TextEncoder().encode(head);
  const out = new Uint8Array(h.length + msg.body.length);
  out.set(h, 0);
  out.set(msg.body, h.length);
  return out;
}
