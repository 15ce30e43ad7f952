// The `pcscf --subscribers FILE` format: the HSS's subscribers for a SIP test tool driving many UEs. A JSON
// array of { "impi": "...", "k": "<32 hex>", "op": "<32 hex>" | "opc": "<32 hex>", "amf": "<4 hex>" }
// (TS 35.206 Milenage inputs; amf defaults to 8000). The file is input from outside: it is bounded, every
// field is checked, and anything wrong is an Ipsec3gppError INVALID_ARGUMENT naming the entry and field,
// never echoing a key.

import { readFileSync, statSync } from 'node:fs';
import { type SubscriberInit } from '../aka/hss.js';
import { Ipsec3gppError } from '../errors.js';
import { parseHex } from '../hex.js';

/**
 * At most this many bytes of file and this many subscribers: 100 000 entries of ~150 octets (a typical IMPI)
 * take about 15 MiB, so the byte bound (32 MiB) lets the count bound be reached.
 */
export const SUBSCRIBERS_LIMITS = { fileBytes: 32 << 20, subscribers: 100_000 } as const;

const bad = (where: string, what: string): never => { throw new Ipsec3gppError('INVALID_ARGUMENT', `subscribers file: ${where}: ${what}`); };

function hex(v: unknown, bytes: number, where: string): Uint8Array {
  return parseHex(v, bytes, true) ?? bad(where, `must be ${bytes} bytes of hex`);
}

/** Parses and checks a subscribers file's text. */
export function parseSubscribers(text: string): SubscriberInit[] {
  if (typeof text !== 'string') return bad('file', 'not text');
  if (text.length > SUBSCRIBERS_LIMITS.fileBytes) return bad('file', `larger than ${SUBSCRIBERS_LIMITS.fileBytes} bytes`);
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { return bad('file', 'not valid JSON'); }
  if (!Array.isArray(doc) || doc.length === 0) return bad('file', 'must be a non-empty JSON array of subscribers');
  if (doc.length > SUBSCRIBERS_LIMITS.subscribers) return bad('file', `more than ${SUBSCRIBERS_LIMITS.subscribers} subscribers`);
  const seen = new Set<string>();
  return doc.map((e: unknown, i): SubscriberInit => {
    const at = `entry ${i}`;
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return bad(at, 'must be an object');
    const o = e as Record<string, unknown>;
    for (const key of Object.keys(o)) if (!['impi', 'k', 'op', 'opc', 'amf'].includes(key)) bad(at, 'unknown field (allowed: impi, k, op, opc, amf)');
    const impi = o['impi'];
    if (typeof impi !== 'string' || impi.length === 0 || impi.length > 255 || /[\x00-\x20"\x7f]/.test(impi)) return bad(`${at}.impi`, '1..255 printable characters without spaces or quotes');
    if (seen.has(impi.toLowerCase())) bad(`${at}.impi`, 'listed twice');
    seen.add(impi.toLowerCase());
    if ((o['op'] === undefined) === (o['opc'] === undefined)) bad(at, 'give exactly one of "op" and "opc"');
    const s: SubscriberInit = { impi, k: hex(o['k'], 16, `${at}.k`), amf: o['amf'] === undefined ? Uint8Array.of(0x80, 0) : hex(o['amf'], 2, `${at}.amf`) };
    if (o['op'] !== undefined) s.op = hex(o['op'], 16, `${at}.op`);
    else s.opc = hex(o['opc'], 16, `${at}.opc`);
    return s;
  });
}

/**
 * The subscribers the command line names: the --subscribers FILE (its size checked before it is read), or the
 * one of --impi/--k/--op|--opc/--amf (program.ts has checked that exactly one of the two is given). A file
 * that cannot be read or is wrong is an Ipsec3gppError INVALID_ARGUMENT.
 */
export function subscribersFromArgs(a: { subscribers?: string | undefined; impi?: string | undefined; k?: Uint8Array | undefined; op?: Uint8Array | undefined; opc?: Uint8Array | undefined; amf?: Uint8Array | undefined }): SubscriberInit[] {
  if (a.subscribers === undefined) return [{ impi: a.impi!, k: a.k!, amf: a.amf ?? Uint8Array.of(0x80, 0), ...(a.op ? { op: a.op } : { opc: a.opc! }) }];
  let text: string;
  try {
    if (statSync(a.subscribers).size > SUBSCRIBERS_LIMITS.fileBytes) return bad('file', `larger than ${SUBSCRIBERS_LIMITS.fileBytes} bytes`);
    text = readFileSync(a.subscribers, 'utf8');
  } catch (e) {
    if (e instanceof Ipsec3gppError) throw e;
    throw new Ipsec3gppError('INVALID_ARGUMENT', `cannot read ${a.subscribers}: ${(e as NodeJS.ErrnoException).code ?? 'unknown error'}`);
  }
  return parseSubscribers(text);
}
