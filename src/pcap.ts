// pcap files (the classic libpcap format, microsecond timestamps) with LINKTYPE_RAW (101): each record is
// a whole IPv4 or IPv6 packet. Written and read in memory (no file system: browser-safe); the CLI writes
// the bytes to disk.

import { Ipsec3gppError } from './errors.js';

export const LINKTYPE_RAW = 101;

export interface PcapRecord {
  /** Milliseconds since the epoch. */
  time: number;
  packet: Uint8Array;
}

/** Serialises records to a pcap file. */
export function writePcap(records: readonly PcapRecord[]): Uint8Array {
  const size = 24 + records.reduce((n, r) => n + 16 + r.packet.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true);
  v.setUint32(12, 0, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, LINKTYPE_RAW, true);
  let at = 24;
  for (const r of records) {
    const sec = Math.floor(r.time / 1000);
    v.setUint32(at, sec, true);
    v.setUint32(at + 4, Math.round((r.time - sec * 1000) * 1000), true);
    v.setUint32(at + 8, r.packet.length, true);
    v.setUint32(at + 12, r.packet.length, true);
    out.set(r.packet, at + 16);
    at += 16 + r.packet.length;
  }
  return out;
}

/** Parses a pcap file written with LINKTYPE_RAW (either byte order). Throws FRAME_MALFORMED. */
export function readPcap(data: Uint8Array): PcapRecord[] {
  if (data.length < 24) throw new Ipsec3gppError('FRAME_MALFORMED', 'pcap file shorter than its header');
  const v = new DataView(data.buffer, data.byteOffset, data.length);
  const magic = v.getUint32(0, true);
  const le = magic === 0xa1b2c3d4;
  if (!le && magic !== 0xd4c3b2a1) throw new Ipsec3gppError('FRAME_MALFORMED', 'not a pcap file (magic)');
  if (v.getUint32(20, le) !== LINKTYPE_RAW) throw new Ipsec3gppError('FRAME_MALFORMED', 'pcap link type is not RAW (101)');
  const out: PcapRecord[] = [];
  let at = 24;
  while (at < data.length) {
    if (at + 16 > data.length) throw new Ipsec3gppError('FRAME_MALFORMED', 'truncated pcap record header');
    const sec = v.getUint32(at, le);
    const usec = v.getUint32(at + 4, le);
    const incl = v.getUint32(at + 8, le);
    if (at + 16 + incl > data.length) throw new Ipsec3gppError('FRAME_MALFORMED', 'truncated pcap record');
    out.push({ time: sec * 1000 + usec / 1000, packet: data.slice(at + 16, at + 16 + incl) });
    at += 16 + incl;
  }
  return out;
}
