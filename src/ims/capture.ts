// Capture export for the demo's --pcap: every packet exactly as it was sent, in a pcap file, plus the keys of
// every SA as Wireshark / tshark `esp_sa` lines and as JSON. Keys leave WASM only for this explicit export.
//
// What a record is decides its frame: a datagram (WireRecord without `protocol`) is written as the UDP
// datagram it was, its payload octet for octet: clear SIP, or, in UDP-encapsulated tunnel mode, ESP in UDP
// (RFC 3948) between the encapsulation ports, which Wireshark decodes as UDPENCAP on port 4500 (`-d
// udp.port==N,udpencap` for another port). A raw ESP record (`protocol: 50`, transport mode, from the wire's
// raw tap) is written as IP protocol 50 with the ESP packet exactly as the raw socket sent or read it. The
// IP and UDP headers around the payload are synthesised (addresses, ports and lengths as sent; the kernel
// writes its own identification and TTL): what a real capture on the interface would show beneath them is
// the same payload.
//
// The capture itself holds no AKA secrets unless asked: the clear SIP of the unprotected phase includes
// the core's 401 to the P-CSCF, whose WWW-Authenticate carries CK and IK (TS 33.203 7.1), and a UE's
// resynchronising REGISTER carries AUTS; their values are redacted (src/ims/redact.ts) unless the caller
// passes `keys: true`. ESP is never rewritten. Wireshark needs only the ESP keys (espSaLines) to read the
// protected frames.

import { toHex } from '../hex.js';
import { IpProtocol, buildIp, buildUdp, parseAddress } from '../ip.js';
import { type WireRecord } from '../net/datagram.js';
import { writePcap } from '../pcap.js';
import { espSpi } from '../udp-encap.js';
import { type SaSet } from '../secagree/sadb.js';
import { redactDatagram } from './redact.js';

/** One SA's keys, as written to FILE.keys.json. */
export interface SaKeyRecord {
  src: string;
  dst: string;
  spi: number;
  encAlg: string;
  /** Hex; for aes-gcm the RFC 4106 key material (key || salt). */
  encKey: string;
  authAlg: string;
  /** Hex; for aes-gmac the RFC 4543 key material (key || salt). */
  authKey: string;
}


/** Key records for every SA of `sets` (the sets must come from a database with keepKeysForExport). */
export function keyRecords(sets: readonly SaSet[]): SaKeyRecord[] {
  const out: SaKeyRecord[] = [];
  const seen = new Set<number>();
  for (const set of sets) {
    const k = set.exportKeys;
    if (k === undefined) continue;
    const salt = k.salt ? toHex(k.salt) : '';
    for (const sa of set.sas) {
      if (seen.has(sa.spi)) continue;
      seen.add(sa.spi);
      out.push({
        src: sa.srcAddress, dst: sa.dstAddress, spi: sa.spi,
        encAlg: set.ealg, encKey: toHex(k.encKey) + (set.ealg === 'aes-gcm' ? salt : ''),
        authAlg: set.alg, authKey: toHex(k.authKey) + (set.alg === 'aes-gmac' ? salt : ''),
      });
    }
  }
  return out;
}

const WS_ENC: Record<string, string> = {
  null: 'NULL', 'des-ede3-cbc': 'TripleDES-CBC [RFC2451]', 'aes-cbc': 'AES-CBC [RFC3602]', 'aes-gcm': 'AES-GCM with 16 octet ICV [RFC4106]',
};
const WS_AUTH: Record<string, string> = {
  null: 'NULL', 'hmac-md5-96': 'HMAC-MD5-96 [RFC2403]', 'hmac-sha-1-96': 'HMAC-SHA-1-96 [RFC2404]',
  // Wireshark has no RFC 4543 GMAC entry: the payload is in clear, the 16-byte ICV is shown unchecked.
  'aes-gmac': 'ANY 128 bit authentication [no checking]',
};

/** The SAs as lines of Wireshark's esp_sa table (protocol, source, destination, SPI, algorithms and keys). */
export function espSaLines(records: readonly SaKeyRecord[]): string {
  return records.map((r) => {
    const family = r.src.includes(':') ? 'IPv6' : 'IPv4';
    const encKey = r.encAlg === 'null' ? '' : `0x${r.encKey}`;
    const authKey = r.authAlg === 'null' || r.authAlg === 'aes-gmac' ? '' : `0x${r.authKey}`;
    return [family, r.src, r.dst, `0x${r.spi.toString(16).padStart(8, '0')}`, WS_ENC[r.encAlg] ?? 'NULL', encKey, WS_AUTH[r.authAlg] ?? 'NULL', authKey].map((f) => `"${f}"`).join(',');
  }).join('\n') + (records.length ? '\n' : '');
}

/** Options of {@link capturePcap}. */
export interface CaptureOptions {
  /** Keep the AKA secrets (ck, ik, auts) of the clear SIP messages as they were sent (default false: redacted). */
  keys?: boolean;
}

/**
 * The records as a pcap, each exactly as sent: UDP datagrams (ESP in UDP for UDP-enc-tun: a payload whose
 * SPI is in `spis` is never touched), raw ESP (IP protocol 50) for `protocol: 50` records; clear SIP with
 * its AKA secrets redacted unless `options.keys`.
 */
export function capturePcap(wire: readonly WireRecord[], spis: ReadonlySet<number>, options: CaptureOptions = {}): Uint8Array {
  let id = 1;
  return writePcap(wire.map((w) => {
    const src = parseAddress(w.srcAddress);
    const dst = parseAddress(w.dstAddress);
    if (w.protocol === IpProtocol.ESP) return { time: w.time, packet: buildIp({ src, dst, protocol: IpProtocol.ESP, payload: w.data, id: id++ }) };
    const esp = w.data.length >= 8 && spis.has(espSpi(w.data));
    const payload = esp || options.keys === true ? w.data : redactDatagram(w.data);
    return { time: w.time, packet: buildIp({ src, dst, protocol: IpProtocol.UDP, payload: buildUdp({ srcPort: w.srcPort, dstPort: w.dstPort, payload, src, dst }), id: id++ }) };
  }));
}
