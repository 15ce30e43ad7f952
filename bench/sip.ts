// SIP parse + serialise cost per transaction (issue 15: must not grow by more than 10 %): the messages of a
// real registration and presence exchange (the demo scenario's trace over the in-memory network), each parsed
// from its bytes, serialised again, and fed through a server or client transaction layer the way SipNode does.
// Reports nanoseconds per message and per transaction (one request + its final response), best of several
// rounds. Part of `npm run bench`; run alone: node --import tsx bench/sip.ts [--quick]

import { pathToFileURL } from 'node:url';
import { TransactionLayer, initSync, parseSipMessage, serializeSipMessage, type SipMessage } from '../src/index.js';
import { MemoryNetwork, runScenario } from '../src/ims/index.js';
import { machine, writeResults, type Row, type Target } from './lib.js';

initSync();

export async function runSip(o: { quick: boolean }): Promise<{ rows: Row[]; targets: Target[]; figures: Record<string, number> }> {
  const r = await runScenario({ net: new MemoryNetwork(), address: '10.0.0.1', notifies: 1 });
  const wire = r.trace.map((e) => serializeSipMessage(e.message));
  const requests = r.trace.filter((e) => e.message.type === 'request').length;
  const rounds = o.quick ? 5 : 20;
  const reps = o.quick ? 200 : 1000;
  let sink = 0;
  const time = (fn: () => void): number => {
    let best = Infinity;
    for (let round = 0; round < rounds; round++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < reps; i++) fn();
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / (reps * wire.length));
    }
    return best;
  };
  const parseNs = time(() => { for (const w of wire) sink += parseSipMessage(w).headers.get('cseq')!.length; });
  const roundTripNs = time(() => { for (const w of wire) sink += serializeSipMessage(parseSipMessage(w)).length; });
  // Through a transaction layer: each request opens a server transaction (a fresh layer per pass so the
  // table does not grow); responses are strays there (no client transaction), which still costs the match.
  const txNs = time(() => {
    const layer = new TransactionLayer<null>(() => {}, { t1: 1e9 });
    for (const w of wire) {
      const m: SipMessage = parseSipMessage(w);
      sink += layer.receive(m, null).kind.length;
      sink += serializeSipMessage(m).length;
    }
    layer.close();
  });
  if (sink === 0) throw new Error('unreachable');
  const perTx = (roundTripNs * wire.length) / requests;
  const row = (name: string, ns: number): Row => ({ suite: 'sip', name, size: 0, impl: 'ipsec-3gpp', opsPerSec: 1e9 / ns, mbPerSec: 0, samples: rounds, marginPercent: NaN, minOpsPerSec: NaN, maxOpsPerSec: NaN, ratios: {} });
  const rows = [
    row('SIP parse, per message', parseNs), row('SIP parse + serialise, per message', roundTripNs), row('SIP parse + tx match + serialise, per message', txNs),
    row('SIP parse + serialise, per transaction', perTx),
  ];
  const meanBytes = wire.reduce((a, w) => a + w.length, 0) / wire.length;
  // No target here: issue 15's bound (at most +10 %) is relative to the code before a change; compare runs.
  return { rows, targets: [], figures: { messages: wire.length, requests, meanBytes, parseNs, roundTripNs, txNs, perTransactionNs: perTx } };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const quick = process.argv.includes('--quick');
  const r = await runSip({ quick });
  const f = r.figures;
  console.log(`${f.messages} messages (${f.requests} requests, mean ${Math.round(f.meanBytes!)} B)`);
  for (const row of r.rows) console.log(`${row.name.padEnd(48)} ${(1e9 / row.opsPerSec).toFixed(0)} ns`);
  console.log(`Results: ${writeResults('sip', { meta: { ...machine(), quick }, rows: r.rows, targets: r.targets, extra: { figures: r.figures } }).join(', ')}`);
}
