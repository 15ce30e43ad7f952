// Presence privacy (issue 10) end to end over real UDP sockets: the P-CSCF asserts each request's
// confidentiality (P-Gm-Confidentiality) and strips a UE's own claim; the presence server keeps it per
// watcher and applies alice's rules to every NOTIFY: full, no-location or polite-block; a change of rules
// notifies at once, and a watcher that moves to an access network the P-CSCF trusts gets the location in
// its next NOTIFY.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initSync } from '../src/index.js';
import { DEMO_WALK, buildPidf, pidfLocation, pidfStatus } from '../src/ims/index.js';
import { WLAN, nextNotify, presenceWorld } from './presence-world.js';

initSync();

const world = presenceWorld;

async function publish(w: Awaited<ReturnType<typeof world>>, i: number): Promise<[string, string]> {
  const got = Promise.all([nextNotify(w.bob), nextNotify(w.carol)]);
  await w.alice.publish(buildPidf({ entity: w.aliceUri, basic: 'open', note: `update ${i}`, location: DEMO_WALK[i % DEMO_WALK.length]! }));
  return got;
}

test('the P-CSCF asserts confidentiality on every forwarded request and a UE cannot forge it', async () => {
  const w = await world({ extraHeaders: [['P-Gm-Confidentiality', 'esp;ealg=aes-cbc']] });
  try {
    const toCore = w.n.trace.filter((e) => e.from === 'P-CSCF' && e.to === 'core' && e.message.type === 'request');
    const claims = (user: string, method: string): string[][] => toCore
      .filter((e) => e.message.type === 'request' && e.message.method === method && (e.message.headers.get('from') ?? '').includes(`sip:${user}@`))
      .map((e) => e.message.headers.getAll('p-gm-confidentiality'));
    // carol sent "esp" on REGISTER and SUBSCRIBE; the core saw exactly one value, the P-CSCF's.
    assert.ok(claims('carol', 'SUBSCRIBE').length >= 1);
    for (const c of [...claims('carol', 'REGISTER').slice(-1), ...claims('carol', 'SUBSCRIBE')]) assert.equal(c, ['none']);
    assert.equal(claims('carol', 'REGISTER')[0], ['none'], 'SM1 is unprotected');
    for (const c of claims('bob', 'SUBSCRIBE')) assert.equal(c, ['esp;ealg=aes-cbc']);
    const [toBob, toCarol] = await publish(w, 0);
    assert.ok(pidfLocation(toBob), 'bob (ESP encryption) gets the location');
    assert.is(pidfLocation(toCarol), undefined, 'carol (integrity only) does not, whatever she claimed');
    assert.is(pidfStatus(toCarol).note, 'update 0', 'but she gets the rest of the document');
  } finally {
    w.n.close();
  }
});

test('each rule outcome: full, no-location and polite-block; a change of rules notifies at once', async () => {
  const w = await world();
  try {
    // Default rules.
    let [toBob, toCarol] = await publish(w, 1);
    assert.ok(pidfLocation(toBob));
    assert.is(pidfLocation(toCarol), undefined);
    // Per-watcher rules: polite-block bob, the full document to carol (alice's choice, even without confidentiality).
    const now = Promise.all([nextNotify(w.bob), nextNotify(w.carol)]);
    w.n.core.setPresenceRules(w.aliceUri, [{ watcher: `sip:bob@${w.n.realm}`, action: 'polite-block' }, { watcher: `sip:carol@${w.n.realm}`, action: 'full' }]);
    [toBob, toCarol] = await now;
    assert.equal(pidfStatus(toBob), { basic: 'closed' }, 'polite-block: a neutral document, nothing of alice\'s');
    assert.is(pidfLocation(toBob), undefined);
    assert.ok(pidfLocation(toCarol));
    [toBob, toCarol] = await publish(w, 2);
    assert.equal([pidfStatus(toBob), pidfLocation(toCarol)], [{ basic: 'closed' }, DEMO_WALK[2]]);
    // A condition on confidentiality: no location for those who have it, nothing for the others.
    const again = Promise.all([nextNotify(w.bob), nextNotify(w.carol)]);
    w.n.core.setPresenceRules(w.aliceUri, [{ confidentiality: true, action: 'no-location' }]);
    await again;
    [toBob, toCarol] = await publish(w, 3);
    assert.equal([pidfLocation(toBob), pidfStatus(toBob).note], [undefined, 'update 3']);
    assert.equal(pidfStatus(toCarol), { basic: 'closed' }, 'no rule matches carol: polite-block');
    // Bad rules are refused with a typed error and change nothing.
    try {
      w.n.core.setPresenceRules(w.aliceUri, [{ action: 'everything' as 'full' }]);
      assert.unreachable('accepted a bad rule');
    } catch (e) {
      assert.is((e as { code?: string }).code, 'INVALID_ARGUMENT');
    }
    assert.equal(w.n.core.presenceRules.get(w.aliceUri), [{ confidentiality: true, action: 'no-location' }]);
  } finally {
    w.n.close();
  }
});

test('a watcher whose protection changes (re-registers over a trusted access network) gets the matching next NOTIFY', async () => {
  const w = await world();
  try {
    let [, toCarol] = await publish(w, 1);
    assert.is(pidfLocation(toCarol), undefined, 'on Wi-Fi, integrity only: no location');
    // carol moves to E-UTRAN, whose encryption this P-CSCF trusts (mode access-network).
    w.carol.accessNetworkInfo = '3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=001010001000019B';
    assert.is((await w.carol.reRegister()).status, 200);
    const claim = w.n.trace.filter((e) => e.from === 'P-CSCF' && e.to === 'core' && e.message.type === 'request' && e.message.method === 'REGISTER').at(-1)!;
    assert.match(claim.message.headers.get('p-gm-confidentiality')!, /^access-network;access-type="3gpp-e-utran-fdd"$/);
    [, toCarol] = await publish(w, 2);
    assert.equal(pidfLocation(toCarol), DEMO_WALK[2]);
    // And back to Wi-Fi: the location stops again.
    w.carol.accessNetworkInfo = `${WLAN}; i-wlan-node-id=ffffffffffff`;
    assert.is((await w.carol.reRegister()).status, 200);
    [, toCarol] = await publish(w, 3);
    assert.is(pidfLocation(toCarol), undefined);
  } finally {
    w.n.close();
  }
});

test.run();
