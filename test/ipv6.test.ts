// IPv6 end to end (issue 15, item 1; RFC 5118): registration and presence over ::1, given in canonical and
// in long form (addresses are compared by value, normalised once at the edge), every Via, Contact, Path,
// Route and Record-Route with a bracketed IPv6 reference (RFC 3261 25.1), the standalone P-CSCF listening
// on [::1], and ESP selectors on IPv6 addresses.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initSync } from '../src/index.js';
import { startPcscf } from '../src/cli/pcscf.js';
import { UeClient, demoKeys, runScenario } from '../src/ims/index.js';
import { NodeUdpNetwork } from '../src/node.js';
import { addressUri, parseVia } from '../src/sip/message.js';

initSync();

const FAST = { t1: 25, t2: 100, t4: 200 };

for (const address of ['::1', '0:0:0:0:0:0:0:1']) {
  test(`registration and presence over IPv6 (${address}): every address in SIP bracketed, the location only to the encrypting watcher`, async () => {
    const r = await runScenario({ net: new NodeUdpNetwork(), address, notifies: 2, timers: FAST, watcher2: { user: 'carol', release: 5, accessNetwork: '3GPP-E-UTRAN-FDD' } });
    assert.equal(r.ues.map((u) => u.registration.status), [200, 200, 200]);
    assert.equal(r.received, r.published);
    assert.equal(r.received2, [undefined, undefined]);
    let checked = 0;
    for (const e of r.trace) {
      const m = e.message;
      for (const v of m.headers.values('via')) {
        const via = parseVia(v);
        assert.match(via.host, /^\[[0-9a-f:]+\]$/, v);
        checked++;
      }
      for (const h of ['contact', 'path', 'route', 'record-route', 'service-route']) {
        for (const v of m.headers.values(h)) {
          if (v.trim() === '*') continue;
          // The hostport of the URI: an IPv6 literal must be in brackets (RFC 3261 25.1 IPv6reference).
          const hostport = addressUri(v).replace(/^sips?:/, '').replace(/^[^@]*@/, '').split(/[;?]/)[0]!;
          assert.match(hostport, /^\[[0-9a-f:]+\](?::\d+)?$/i, `${h}: ${v}`);
          checked++;
        }
      }
      if (m.type === 'request') assert.match(m.uri.replace(/^sips?:/, ''), /^(?:[^@]*@)?(?:\[[0-9a-f:]+\](?::\d+)?|[a-z0-9.-]+)(?:;|$)/i, m.uri);
    }
    assert.ok(checked > 100);
    // The ESP traffic used IPv6 selectors.
    assert.ok(r.sets.length === 0 || r.sets.every((s) => s.ueAddress === '::1' && s.pcscfAddress === '::1'));
    assert.ok(r.stats.protectedDatagrams > 10);
    assert.equal(r.stats.dropped, {});
  });
}

test('pcscf listening on [::1]: a UE registers over IPv6 and publishes over its SAs', async () => {
  const impi = 'alice@ims.example.org';
  const lines: string[] = [];
  const p = await startPcscf({
    host: '::1', port: 0, clientPort: 0, serverPort: 0, encapPort: 0, realm: 'ims.example.org', mode: 'ipsec', noIpsec: false, quiet: true,
    subscribers: [{ impi, ...demoKeys() }], log: (l) => lines.push(l),
  });
  const ue = await UeClient.start({
    net: new NodeUdpNetwork(), address: '::1', impi, impu: `sip:${impi}`, realm: 'ims.example.org', ...demoKeys(),
    pcscf: { address: '::1', port: p.pcscf.port, encapPort: p.pcscf.encapPort! }, release: 6, timers: FAST,
  });
  try {
    const r = await ue.register();
    assert.is(r.status, 200, r.detail);
    assert.is(r.set!.pcscfAddress, '::1');
    assert.is((await ue.publish(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:${impi}"/>`)).status, 200);
    assert.is((await ue.deregister()).status, 200);
  } finally {
    ue.close();
    p.close();
  }
});

test.run();
