// The S-CSCF's reg-event subscriptions (src/ims/reg-event.ts; RFC 3680, TS 24.229 5.4.2) on their own,
// with a host that records what would be sent: a change of one AOR's registration notifies that AOR's
// watchers and no one else's, and every way a subscription ends (un-SUBSCRIBE, the registration's end,
// expiry) removes it from the AOR's watchers too.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseReginfo } from '../src/ims/index.js';
import { RegEventServer, type RegContact } from '../src/ims/reg-event.js';
import { parseSipMessage, type SipRequest, type SipResponse } from '../src/sip/message.js';

const realm = 'ims.example.org';

function world(): { server: RegEventServer; sent: SipRequest[]; contacts: Map<string, RegContact[]> } {
  const sent: SipRequest[] = [];
  const contacts = new Map<string, RegContact[]>();
  const server = new RegEventServer({
    address: '127.0.0.1', port: 5060,
    contacts: (aor) => contacts.get(aor) ?? [],
    send: (req) => { sent.push(req); return Promise.resolve({ type: 'response', status: 200 } as unknown as SipResponse); },
  });
  return { server, sent, contacts };
}

function subscribe(server: RegEventServer, user: string, watcher: string, callId: string, expires = 600): number {
  const raw = [
    `SUBSCRIBE sip:${user}@${realm} SIP/2.0`,
    'Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK' + callId,
    'Max-Forwards: 70',
    `From: <${watcher}>;tag=t${callId}`,
    `To: <sip:${user}@${realm}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 SUBSCRIBE',
    'Event: reg',
    `Expires: ${expires}`,
    `Contact: <${watcher}>`,
    'Content-Length: 0', '', '',
  ].join('\r\n');
  let status = 0;
  server.subscribe(parseSipMessage(new TextEncoder().encode(raw)) as SipRequest, watcher, { address: '127.0.0.2', port: 5060 }, (r) => { status = r.status; });
  return status;
}

const aor = (user: string): string => `sip:${user}@${realm}`;
const notified = (sent: SipRequest[]): string[] => sent.map((r) => parseReginfo(r.body).registrations[0]!.aor).sort();

test('a change of one registration notifies its own watchers only, and its end removes them', () => {
  const { server, sent, contacts } = world();
  for (const u of ['a', 'b', 'c']) contacts.set(aor(u), [{ uri: `sip:${u}@127.0.0.9:5070`, expiresAt: Date.now() + 600_000 }]);
  // Each AOR watched by its UE and by a P-CSCF.
  for (const u of ['a', 'b', 'c']) {
    assert.is(subscribe(server, u, aor(u), `ue-${u}`), 200);
    assert.is(subscribe(server, u, 'sip:pcscf@127.0.0.1:5061', `p-${u}`), 200);
  }
  assert.is(server.size, 6);
  assert.is(sent.length, 6, 'one NOTIFY with the full state per new subscription');
  sent.length = 0;

  server.changed(aor('b'), 'refreshed');
  assert.equal(notified(sent), [aor('b'), aor('b')]);
  assert.equal(server.watchers(aor('b')).sort(), [aor('b'), 'sip:pcscf@127.0.0.1:5061'].sort());
  sent.length = 0;

  // b's registration ends: its two subscriptions are told "terminated" and go; a's and c's stay.
  contacts.delete(aor('b'));
  server.changed(aor('b'), 'unregistered', [{ uri: 'sip:b@127.0.0.9:5070', expiresAt: 0 }]);
  assert.equal(notified(sent), [aor('b'), aor('b')]);
  assert.ok(sent.every((r) => (r.headers.get('subscription-state') ?? '').startsWith('terminated')));
  assert.is(server.size, 4);
  assert.equal(server.watchers(aor('b')), []);
  assert.is(server.watchers(aor('a')).length, 2);
  sent.length = 0;
  server.changed(aor('b'), 'refreshed');
  assert.is(sent.length, 0, 'no one left to tell about b');

  // An un-SUBSCRIBE (Expires: 0) removes that one watcher.
  assert.is(subscribe(server, 'a', aor('a'), 'ue-a', 0), 200);
  assert.equal(server.watchers(aor('a')), ['sip:pcscf@127.0.0.1:5061']);
  assert.is(server.size, 3);
  sent.length = 0;
  server.changed(aor('a'), 'refreshed');
  assert.is(sent.length, 1);
});

test('expired subscriptions are pruned from their AOR\'s watchers; clear() empties everything', () => {
  const { server, sent, contacts } = world();
  contacts.set(aor('a'), [{ uri: 'sip:a@127.0.0.9:5070', expiresAt: Date.now() + 600_000 }]);
  assert.is(subscribe(server, 'a', aor('a'), 'short', 1), 200);
  assert.is(subscribe(server, 'a', 'sip:pcscf@127.0.0.1:5061', 'long', 600), 200);
  server.prune(Date.now() + 2000);
  assert.equal(server.watchers(aor('a')), ['sip:pcscf@127.0.0.1:5061']);
  assert.is(server.size, 1);
  sent.length = 0;
  server.changed(aor('a'), 'refreshed');
  assert.is(sent.length, 1);
  server.clear();
  assert.is(server.size, 0);
  assert.equal(server.watchers(aor('a')), []);
  sent.length = 0;
  server.changed(aor('a'), 'refreshed');
  assert.is(sent.length, 0);
});

test.run();
