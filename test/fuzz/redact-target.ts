// Fuzz target: the redaction of AKA secrets (src/ims/redact.ts). Its input is hostile: the demo network
// records every datagram it sees, redacted, and the capture export redacts every clear one. Seeds: the
// core's 401 with real ck/ik, a resynchronising REGISTER with auts, a REGISTER with a normal answer, and
// an ESP packet. For every mutated input, redactDatagram must not throw; if the input is a SIP message,
// the output is one too (unless the redaction mark pushed it over a parser limit), its authentication
// headers hold no secret value other than "<redacted>", they equal what redactMessage makes of the parsed
// input, and redacting again changes nothing.

import { AkaDigestServer, EspSa, Hss, Ipsec3gppError, akaAuthorization, parseAkaChallenge, parseSipMessage, serializeSipMessage } from '../../src/index.js';
import { REDACTED, redactDatagram, redactMessage } from '../../src/ims/redact.js';
import { makeRequest, makeResponse } from '../../src/ims/sip-node.js';
import { authParam, parseAuthHeader } from '../../src/sip/auth-header.js';
import { type SipMessage } from '../../src/sip/message.js';
import { apply } from './mutate.js';
import { type Target } from './targets.js';

const AUTH = ['www-authenticate', 'authorization', 'proxy-authenticate', 'proxy-authorization', 'authentication-info'];
const SECRET = ['ck', 'ik', 'auts', 'res', 'xres'];

const authValues = (m: SipMessage): string[] => AUTH.flatMap((h) => m.headers.getAll(h));

function parses(b: Uint8Array): SipMessage | Ipsec3gppError {
  try {
    return parseSipMessage(b);
  } catch (e) {
    if (e instanceof Ipsec3gppError && e.code === 'SIP_PARSE') return e;
    throw e;
  }
}

export const redactTarget: Target = {
  name: 'AKA secret redaction of datagrams and messages (traces, wire records, pcap)',
  codes: ['SIP_PARSE'],
  async setup() {
    const realm = 'ims.example';
    const impi = `alice@${realm}`;
    const hss = new Hss();
    hss.addSubscriber({ impi, k: new Uint8Array(16).fill(0x17), op: new Uint8Array(16).fill(0x29) });
    const server = new AkaDigestServer({ realm, hss });
    const c = server.challenge(impi);
    const challenge = parseAkaChallenge(c.wwwAuthenticate);
    const register = (authorization: string): Uint8Array => serializeSipMessage(makeRequest({
      method: 'REGISTER', uri: `sip:${realm}`, from: `<sip:${impi}>;tag=1`, to: `<sip:${impi}>`, callId: 'fuzz@10.0.0.2', cseq: 2,
      via: 'SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKfuzz', headers: [['Authorization', authorization]],
    }));
    const req = parseSipMessage(register(''));
    if (req.type !== 'request') throw new Error('seed');
    const r401 = serializeSipMessage(makeResponse(req, 401, 'Unauthorized', [['WWW-Authenticate', c.wwwAuthenticate]]));
    const resync = register(akaAuthorization({ username: impi, uri: `sip:${realm}`, method: 'REGISTER', challenge, outcome: { auts: new Uint8Array(14).fill(0x5a) } }));
    const answer = register(akaAuthorization({ username: impi, uri: `sip:${realm}`, method: 'REGISTER', challenge, outcome: { res: c.av.xres } }));
    const sa = EspSa.outbound({ spi: 0x3003, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck: c.av.ck, ik: c.av.ik });
    const esp = sa.seal(r401);
    sa.delete();
    server.destroy();
    hss.destroy();
    const seeds = [r401, resync, answer, esp];
    return {
      check(m) {
        const bytes = apply(m, seeds);
        const out = redactDatagram(bytes);
        if (redactDatagram(out) !== out) throw new Error('redacting twice changed the datagram');
        const input = parses(bytes);
        if (input instanceof Ipsec3gppError) return input.code;
        const output = parses(out);
        if (output instanceof Ipsec3gppError) {
          if (out.length > bytes.length && /longer than|larger than/.test(output.message)) return 'SIP_PARSE';
          throw new Error(`a SIP message no longer parses once redacted: ${output.message}`);
        }
        const expected = authValues(redactMessage(input));
        const got = authValues(output);
        if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`datagram and message redaction differ: ${JSON.stringify(got)} vs ${JSON.stringify(expected)}`);
        for (const v of got) {
          let h;
          try { h = parseAuthHeader(v); } catch { continue; }
          for (const name of SECRET) {
            const value = authParam(h, name);
            if (value !== undefined && value !== REDACTED) throw new Error(`${name} survived redaction: ${v}`);
          }
        }
        return 'accepted';
      },
      close: () => {},
    };
  },
};
