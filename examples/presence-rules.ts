// Presence rules: who learns where alice is. Three UEs register over the project's P-CSCF and core (real UDP
// on 127.0.0.1, the TS 33.203 flow with IMS AKA and ESP SAs): alice publishes her location; bob (Release 6 UE:
// ESP with encryption) and carol (Release 5 UE: ESP integrity only, so her NOTIFYs are readable on the air)
// watch her. The P-CSCF asserts each watcher's confidentiality to the core (P-Gm-Confidentiality, this
// project's extension) and the presence server applies alice's rules to every NOTIFY:
//   1. the default rules: the location only to watchers with confidentiality (bob yes, carol no);
//   2. alice's own rules, set with core.setPresenceRules(): carol is blocked (a neutral document), bob keeps
//      the location, anyone else without confidentiality gets no location.
// It prints what each watcher received. Run it from the package directory (the imports resolve to dist/):
//   npm run build && node --import tsx examples/presence-rules.ts

import { init } from 'ipsec-3gpp';
import { buildPidf, pidfLocation, pidfStatus, startNetwork, type UeClient } from 'ipsec-3gpp/ims';
import { NodeUdpNetwork } from 'ipsec-3gpp/node';

await init();
const n = await startNetwork({ net: new NodeUdpNetwork(), policy: { defaultMode: 'ipsec' } });
try {
  const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'IEEE-802.11' });
  const bob = await n.ue({ user: 'bob', release: 6, accessNetwork: 'IEEE-802.11' });
  const carol = await n.ue({ user: 'carol', release: 5, accessNetwork: 'IEEE-802.11' });
  for (const [name, ue] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) {
    const r = await ue.register();
    if (r.status !== 200 || !r.set) throw new Error(`${name}: registration failed, ${r.status} ${r.reason}`);
    console.log(`${name} registered: ${r.set.ealg === 'null' ? 'ESP integrity only' : `ESP encrypted (${r.set.ealg})`} + ${r.set.alg}`);
  }
  const aliceUri = `sip:alice@${n.realm}`;

  /** The next presence document `ue` receives in a NOTIFY. */
  const nextNotify = (ue: UeClient): Promise<string> => new Promise((resolve) => { ue.onNotify = (x) => resolve(x.body); });
  /** One line per watcher: what the document it got says. */
  const show = (who: string, doc: string): void => {
    const where = pidfLocation(doc);
    const { basic, note } = pidfStatus(doc);
    console.log(`  ${who}: basic ${basic ?? '-'}, note ${note === undefined ? '-' : `"${note}"`}, location ${where ? `${where.lat.toFixed(5)} ${where.lon.toFixed(5)}` : 'none'}`);
  };
  const watchers: Array<[string, UeClient]> = [['bob', bob], ['carol', carol]];

  for (const [, w] of watchers) {
    const first = nextNotify(w);
    const s = await w.subscribe(aliceUri);
    if (s.status !== 200) throw new Error(`SUBSCRIBE: ${s.status} ${s.reason}`);
    await first; // the NOTIFY of the subscription's start (no document yet)
  }

  // 1. The default rules.
  let got = watchers.map(([, w]) => nextNotify(w));
  const p = await alice.publish(buildPidf({ entity: aliceUri, basic: 'open', note: 'at the station', location: { lat: 48.85837, lon: 2.29448 } }));
  if (p.status !== 200) throw new Error(`PUBLISH: ${p.status} ${p.reason}`);
  console.log('alice published 48.85837 2.29448; default rules (location only with confidentiality):');
  for (const [i, doc] of (await Promise.all(got)).entries()) show(watchers[i]![0], doc);

  // 2. alice's own rules: the first matching rule wins; the change notifies the watchers at once.
  got = watchers.map(([, w]) => nextNotify(w));
  n.core.setPresenceRules(aliceUri, [
    { watcher: `sip:carol@${n.realm}`, action: 'polite-block' },
    { watcher: `sip:bob@${n.realm}`, action: 'full' },
    { confidentiality: false, action: 'no-location' },
  ]);
  console.log('alice set her rules (carol: polite-block, bob: full, others without confidentiality: no-location):');
  for (const [i, doc] of (await Promise.all(got)).entries()) show(watchers[i]![0], doc);
} finally {
  n.close();
}
