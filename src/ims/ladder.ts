// The message ladder of a registration and presence exchange, as the demos print and draw it: the TS 33.203
// clause 6.1 label of each registration message (SM1 ... SM12, with the core playing I- and S-CSCF), a
// one-line summary of what matters for security (offers, Security-Verify, challenges, location), and the
// protection it crossed the wire with. Browser-safe. Shows no AKA secrets: SipNode traces redacted copies,
// and serializeTrace redacts again whatever it is given (src/ims/redact.ts).

import { authParam, parseAuthHeader } from '../sip/auth-header.js';
import { parseSipMessage, serializeSipMessage } from '../sip/message.js';
import { pidfStatus } from './pidf.js';
import { redactMessage } from './redact.js';
import { type TraceEvent } from './sip-node.js';

/** The TS 33.203 label of a registration message (SM1 ... SM12), with the core playing I- and S-CSCF. */
export function smLabel(e: TraceEvent, seen: Map<string, number>): string {
  const m = e.message;
  const cseq = m.headers.get('cseq') ?? '';
  if (!cseq.endsWith('REGISTER')) return '';
  const callId = m.headers.get('call-id') ?? '';
  const key = `${callId}|${e.from}->${e.to}|${m.type === 'request' ? 'req' : (m as { status: number }).status}`;
  const n = (seen.get(key) ?? 0) + 1;
  seen.set(key, n);
  const fromUe = e.from.startsWith('UE');
  const toUe = e.to.startsWith('UE');
  if (m.type === 'request') {
    if (fromUe) return e.sa ? 'SM7' : 'SM1';
    let ip: string | undefined;
    try { ip = authParam(parseAuthHeader(m.headers.get('authorization') ?? ''), 'integrity-protected'); } catch { ip = undefined; }
    return ip === 'yes' ? 'SM8/9' : 'SM2/3';
  }
  const status = (m as { status: number }).status;
  if (status === 401) return toUe ? 'SM6' : 'SM4/5';
  if (status === 200) return toUe ? 'SM12' : 'SM10/11';
  return '';
}

/**
 * A one-line summary of what a message means for security, as the ladder shows it: for requests the
 * Security-Client/-Server/-Verify entries, Authorization and presence content; for responses the status and
 * what it carried (a challenge, Security-Server, Expires). Contains no AKA secrets.
 */
export function summary(e: TraceEvent): string {
  const m = e.message;
  if (m.type === 'request') {
    const extra: string[] = [];
    const sc = m.headers.values('security-client').length;
    if (sc) extra.push(`Security-Client: ${sc} offer${sc > 1 ? 's' : ''}`);
    if (m.headers.has('security-verify')) extra.push('Security-Verify');
    const conf = m.headers.get('p-gm-confidentiality');
    if (conf) extra.push(`confidentiality ${conf.split(';')[0]}`);
    if (m.method === 'NOTIFY') {
      const user = /sips?:([^@;>]+)@/.exec(m.headers.get('to') ?? '')?.[1];
      if (user) extra.push(`for ${user}`);
    }
    if (m.method === 'PUBLISH' || m.method === 'NOTIFY') {
      const doc = new TextDecoder().decode(m.body);
      const pos = /<gml:pos>([^<]+)<\/gml:pos>/.exec(doc)?.[1];
      if (pos) extra.push(`location ${pos}`);
      else if (m.method === 'NOTIFY' && m.body.length === 0) extra.push('no document yet');
      else if (m.method === 'NOTIFY') {
        const st = pidfStatus(doc);
        extra.push(st.basic === 'closed' && st.note === undefined ? 'neutral document (polite-block)' : 'no location');
      }
    }
    try {
      const ip = authParam(parseAuthHeader(m.headers.get('authorization') ?? ''), 'integrity-protected');
      if (ip) extra.push(`integrity-protected="${ip}"`);
    } catch { /* no Authorization */ }
    return `${m.method}${extra.length ? ` (${extra.join(', ')})` : ''}`;
  }
  const extra: string[] = [];
  const ss = m.headers.values('security-server');
  if (ss.length) extra.push(`Security-Server: ${ss.map((s) => `${/alg=([^;]+)/.exec(s)?.[1]}/${/ealg=([^;]+)/.exec(s)?.[1]}`).join(', ')}`);
  const www = m.headers.get('www-authenticate');
  if (www) extra.push(/ ik=| ck=|,ik=|,ck=/.test(www) ? 'AKA challenge with ik/ck' : 'AKA challenge, ik/ck removed');
  const warning = m.headers.get('warning');
  if (warning) extra.push(warning.replace(/^\d+ \S+ /, ''));
  return `${m.status} ${m.reason}${extra.length ? ` (${extra.join('; ')})` : ''}`;
}

/**
 * How a traced message crossed the wire: `clear` (or `clear, over TCP`), or the ESP SA with its SPI and
 * algorithms, e.g. `ESP SA1 spi=0x0001e240 aes-cbc+hmac-sha-1-96`.
 */
export function protection(e: TraceEvent): string {
  if (!e.sa) return e.transport === 'TCP' ? 'clear, over TCP' : 'clear';
  return `ESP ${e.sa.name} spi=0x${e.sa.spi.toString(16).padStart(8, '0')} ${e.sa.ealg === 'null' ? 'no encryption' : e.sa.ealg}+${e.sa.alg}${e.transport === 'TCP' ? ', over TCP' : ''}`;
}


/**
 * A trace event as JSON-safe data (the SIP message as text), e.g. for a WebSocket. Carries no keys: the
 * message's ck, ik and auts are redacted here too, whoever built the event.
 */
export interface TraceRecord {
  time: number;
  from: string;
  to: string;
  bytes: number;
  sip: string;
  sa?: { name: string; spi: number; alg: string; ealg: string };
}

/** The trace event as a {@link TraceRecord} (JSON-safe; the message as SIP text with ck, ik and auts redacted). */
export function serializeTrace(e: TraceEvent): TraceRecord {
  const r: TraceRecord = { time: e.time, from: e.from, to: e.to, bytes: e.bytes, sip: new TextDecoder().decode(serializeSipMessage(redactMessage(e.message))) };
  if (e.sa) r.sa = { name: e.sa.name, spi: e.sa.spi, alg: e.sa.alg, ealg: e.sa.ealg };
  return r;
}

/** The inverse of {@link serializeTrace}; throws Ipsec3gppError (SIP_PARSE) on a malformed message. */
export function parseTrace(r: TraceRecord): TraceEvent {
  const e: TraceEvent = { time: Number(r.time), from: String(r.from), to: String(r.to), bytes: Number(r.bytes), message: parseSipMessage(new TextEncoder().encode(String(r.sip))) };
  if (r.sa) e.sa = { name: String(r.sa.name), spi: Number(r.sa.spi), alg: String(r.sa.alg), ealg: String(r.sa.ealg) };
  return e;
}
