// The batch calls' refusals, item by item (RFC 4303 3.4: a rejected packet changes nothing), computed with
// whichever WASM build the library has loaded: test/wasm-split.test.ts runs it in the split build's probe
// (per packet: the binding's packet-by-packet batch path; with batch: the one-call path) and with the single
// module, and compares the codes and the SA statistics.

import type * as Lib from '../src/index.js';

type Keys = { alg: Lib.IntegrityAlgorithm; ealg: Lib.EncryptionAlgorithm; ck: Uint8Array; ik: Uint8Array };

/** Seals and opens batches mixing good items with refused ones; returns what each item gave and the stats. */
export function batchRefusals(lib: typeof Lib, o: Keys): { seal: string[]; open: string[]; stats: unknown } {
  const tx = lib.EspSa.outbound({ spi: 0x4000, ...o });
  const rx = lib.EspSa.inbound({ spi: 0x4000, ...o, replayWindow: 64 });
  const other = lib.EspSa.inbound({ spi: 0x4001, ...o, replayWindow: 64 });
  const code = (r: unknown): string => (r instanceof lib.Ipsec3gppError ? r.code : r === null ? 'dummy' : r instanceof Uint8Array ? `packet:${r.length}` : `payload:${(r as Lib.EspPacket).payload.length}`);
  try {
    const payload = new Uint8Array(40).fill(7);
    const seal = lib.sealBatch([
      { sa: tx, payload },
      { sa: rx, payload },
      { sa: tx, payload: 'text' as unknown as Uint8Array },
      { sa: tx, payload: new Uint8Array(tx.maxPayload + 1) },
      { sa: tx, payload, nextHeader: 300 },
      { sa: tx, payload, nextHeader: 59 },
      { sa: tx, payload: new Uint8Array(0) },
    ]);
    const good = seal[0] as Uint8Array;
    const dummy = seal[5] as Uint8Array;
    const tampered = good.slice();
    tampered[tampered.length - 1]! ^= 1;
    const open = lib.openBatch([
      { sa: rx, packet: tampered },
      { sa: rx, packet: good },
      { sa: rx, packet: good },
      { sa: tx, packet: good },
      { sa: other, packet: good },
      { sa: rx, packet: good.subarray(0, 9) },
      { sa: rx, packet: new Uint8Array(70000) },
      { sa: rx, packet: dummy },
      { sa: rx, packet: seal[6] as Uint8Array },
    ]);
    return { seal: seal.map(code), open: open.map(code), stats: [tx.stats, rx.stats, other.stats, Number(rx.seq), Number(tx.seq)] };
  } finally {
    for (const sa of [tx, rx, other]) sa.destroy();
  }
}
