// Calls and page-mode messages between two UEs through the P-CSCF and the S-CSCF over real UDP, every
// UE <-> P-CSCF hop inside ESP (issue 15, item 9): MESSAGE (RFC 3428), an INVITE dialog with its route set
// (RFC 3261 12, 16.6 Record-Route of the P-CSCF's two sides and of the core), ACK and BYE along it, CANCEL
// hop by hop (9, 16.10), a callee that is not registered, a lost 2xx retransmitted by the UAS until the
// ACK (13.3.1.4) and passed on by the proxies (RFC 6026), PRACK for a reliable 180 (RFC 3262) from both
// sides, and requests as other peers write them: an RFC 3261 24.2-style INVITE in compact form with an
// RFC 4317 SDP offer, a raw BYE for a dialog that does not exist.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initSync } from '../src/index.js';
import { runScenario, startNetwork, uacDialog, inDialogRequest, type ImsNetwork, type Route, type TraceEvent, type UeClient, type Call } from '../src/ims/index.js';
import { parseSipMessage, type SipMessage, type SipRequest, type SipResponse } from '../src/sip/message.js';
import { TransactionLayer, buildCancel } from '../src/sip/transaction.js';
import { NodeUdpNetwork } from '../src/node.js';

initSync();

const FAST = { t1: 25, t2: 100, t4: 200 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const enc = new TextEncoder();

/** An SDP offer as RFC 4317 (section 2.1) writes one: audio with PCMU and telephone-event. */
const OFFER = [
  'v=0', 'o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com', 's=', 'c=IN IP4 host.atlanta.example.com', 't=0 0',
  'm=audio 49170 RTP/AVP 0 8 97', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:97 iLBC/8000',
  'm=video 51372 RTP/AVP 31 32', 'a=rtpmap:31 H261/90000', 'a=rtpmap:32 MPV/90000', '',
].join('\r\n');
const ANSWER = [
  'v=0', 'o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com', 's=', 'c=IN IP4 host.biloxi.example.com', 't=0 0',
  'm=audio 49174 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'm=video 0 RTP/AVP 32', 'a=rtpmap:32 MPV/90000', '',
].join('\r\n');

async function pair(net = new NodeUdpNetwork()): Promise<{ n: ImsNetwork; alice: UeClient; bob: UeClient; bobUri: string }> {
  // No reg-event traffic of the UEs' own: the trace holds only what the test does.
  const n = await startNetwork({ net, timers: FAST, autoRefresh: false });
  const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: '3GPP-E-UTRAN-FDD' });
  const bob = await n.ue({ user: 'bob', release: 6, accessNetwork: '3GPP-E-UTRAN-FDD' });
  assert.is((await alice.register()).status, 200);
  assert.is((await bob.register()).status, 200);
  return { n, alice, bob, bobUri: `sip:bob@${n.realm}` };
}

/** Each hop once, in order of first appearance: retransmissions (T1 is 25 ms here) do not change the path. */
const uniq = (xs: string[]): string[] => [...new Set(xs)];
const label = (e: TraceEvent): string => (e.message.type === 'request' ? e.message.method : `${e.message.status} ${e.message.headers.get('cseq')!.split(' ')[1]}`);
const sent = (n: ImsNetwork, from: string, what: string): TraceEvent[] => n.trace.filter((e) => e.from === from && label(e) === what);

/** SA1 of a UE's current set: how a test tool sends raw requests from the UE over its SAs. */
function sa1(ue: UeClient): Route {
  const set = ue.current!;
  const sa = set.sa('SA1');
  return { kind: 'protected', port: ue.protectedPort(sa.srcPort)!, sa };
}

/** A request written out as text (with its Content-Length computed), parsed as any received one is. */
function raw(lines: string[], body = ''): SipRequest {
  const text = [...lines, `l: ${enc.encode(body).length}`, '', body].join('\r\n');
  return parseSipMessage(enc.encode(text)) as SipRequest;
}

test('MESSAGE alice -> bob: over SA1 to the P-CSCF, through the core, over SA2 to bob; bob\'s 200 back', async () => {
  const { n, alice, bob, bobUri } = await pair();
  try {
    const got = new Promise<void>((r) => { bob.onMessage = () => r(); });
    const res = await alice.message(bobUri, 'Watson, come here.');
    await got;
    assert.is(res.status, 200);
    assert.is(bob.messages.length, 1);
    assert.is(bob.messages[0]!.body, 'Watson, come here.');
    assert.is(bob.messages[0]!.contentType, 'text/plain');
    // The sender as the P-CSCF asserted it (RFC 3325), not as a UE could claim.
    assert.is(bob.messages[0]!.from, `<sip:alice@${n.realm}>`);
    const hops = n.trace.filter((e) => e.message.headers.get('cseq')?.endsWith('MESSAGE'));
    assert.equal(uniq(hops.map((e) => `${e.from}>${e.to} ${label(e)} ${e.sa?.name ?? 'plain'}`)), [
      'UE alice>P-CSCF MESSAGE SA1', 'P-CSCF>core MESSAGE plain', 'core>P-CSCF MESSAGE plain', 'P-CSCF>UE bob MESSAGE SA2',
      'UE bob>P-CSCF 200 MESSAGE SA4', 'P-CSCF>core 200 MESSAGE plain', 'core>P-CSCF 200 MESSAGE plain', 'P-CSCF>UE alice 200 MESSAGE SA3',
    ]);
    // Retargeted by the core to bob's registered contact, along bob's Path.
    const hop = (from: string, to: string): SipRequest => hops.find((e) => e.from === from && e.to === to && e.message.type === 'request')!.message as SipRequest;
    const toBob = hop('P-CSCF', 'UE bob');
    assert.is(toBob.uri, `sip:bob@127.0.0.1:${bob.portS.port}`);
    assert.is(toBob.headers.get('p-asserted-identity'), `<sip:alice@${n.realm}>`);
    assert.is(hop('core', 'P-CSCF').headers.values('route').join(), `<sip:term@127.0.0.1:${n.pcscf.coreSocket.port};lr>`);
    // The P-CSCF's confidentiality assertion went to the core, not on to bob.
    assert.ok(hop('P-CSCF', 'core').headers.has('p-gm-confidentiality'));
    assert.not.ok(toBob.headers.has('p-gm-confidentiality'));
    // The same MESSAGE sent in clear to bob's unprotected port, as an attacker on the access network could:
    // dropped (TS 33.203 7.1), whatever P-Asserted-Identity it claims.
    const spoof = [
      `MESSAGE sip:bob@127.0.0.1:${bob.portS.port} SIP/2.0`, 'Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKspoof1', 'Max-Forwards: 70',
      `From: <sip:alice@${n.realm}>;tag=s1`, `To: <${bobUri}>`, 'Call-ID: spoof@127.0.0.1', 'CSeq: 1 MESSAGE', `P-Asserted-Identity: <sip:alice@${n.realm}>`,
      'Content-Type: text/plain', 'Content-Length: 5', '', 'spoof',
    ].join('\r\n');
    const sock = await new NodeUdpNetwork().bind('127.0.0.1', 0);
    sock.send(enc.encode(spoof), bob.unprotected.port, '127.0.0.1');
    await sleep(100);
    sock.close();
    assert.is(bob.messages.length, 1, 'the spoofed MESSAGE was not taken');
  } finally {
    n.close();
  }
});

test('INVITE dialog: 180 and 200 with the Record-Route of both P-CSCF sides and the core; ACK and BYE follow the route set', async () => {
  const { n, alice, bob, bobUri } = await pair();
  try {
    let incoming: Call | undefined;
    bob.onInvite = (c) => { incoming = c; return { accept: true, sdp: ANSWER }; };
    const call = alice.invite(bobUri, { sdp: OFFER, rel100: 'none' });
    const res = await call.final;
    assert.is(res.status, 200);
    assert.is(call.state, 'confirmed');
    assert.is(call.remoteSdp, ANSWER);
    assert.ok(incoming);
    assert.is(incoming!.remoteSdp, OFFER);
    const p = n.pcscf;
    const ps = `<sip:127.0.0.1:${p.portS.port};lr>`;
    const pc = `<sip:127.0.0.1:${p.coreSocket.port};lr>`;
    const core = `<sip:127.0.0.1:${n.core.port};lr>`;
    // As bob received them (top = nearest): terminating P-CSCF (UE side, core side), core, originating P-CSCF (core side, UE side).
    assert.equal(incoming!.dialog!.routeSet, [ps, pc, core, pc, ps]);
    // Alice's route set is the 200's Record-Route reversed (RFC 3261 12.1.2).
    assert.equal(call.dialog!.routeSet, [ps, pc, core, pc, ps]);
    assert.is(call.dialog!.remoteTarget, `sip:bob@127.0.0.1:${bob.portS.port}`);
    assert.is(incoming!.dialog!.remoteTarget, `sip:alice@127.0.0.1:${alice.portS.port}`);
    // The ACK reaches bob (the 2xx is not retransmitted for ever), then BYE.
    for (let i = 0; i < 40 && !n.trace.some((e) => e.to === 'UE bob' && label(e) === 'ACK'); i++) await sleep(10);
    const ackToBob = n.trace.find((e) => e.to === 'UE bob' && label(e) === 'ACK')!;
    assert.ok(ackToBob, 'the ACK reached bob');
    assert.is((ackToBob.message as SipRequest).uri, `sip:bob@127.0.0.1:${bob.portS.port}`);
    const ended = incoming!.ended;
    const bye = await call.bye();
    assert.is(bye.status, 200);
    assert.equal(await ended, { by: 'remote', reason: 'BYE' });
    assert.equal(call.end, { by: 'local', reason: 'BYE' });
    // Along the route set: each hop takes its own entries off the top (RFC 3261 16.4).
    const byes = uniq(n.trace.filter((e) => label(e) === 'BYE').map((e) => `${e.from}>${e.to} ${(e.message as SipRequest).headers.values('route').join(' ')}`));
    assert.equal(byes, [
      `UE alice>P-CSCF ${[ps, pc, core, pc, ps].join(' ')}`,
      `P-CSCF>core ${[core, pc, ps].join(' ')}`,
      `core>P-CSCF ${[pc, ps].join(' ')}`,
      'P-CSCF>UE bob ',
    ]);
    for (const e of n.trace) if ((e.from.startsWith('UE') || e.to.startsWith('UE')) && e.message.headers.get('cseq')?.match(/INVITE|ACK|BYE/)) assert.ok(e.sa, `${label(e)} ${e.from}>${e.to} inside ESP`);
    // The ACK stopped bob's 2xx retransmissions (RFC 3261 13.3.1.4).
    const before = sent(n, 'UE bob', '200 INVITE').length;
    await sleep(300);
    assert.is(sent(n, 'UE bob', '200 INVITE').length, before, 'no 2xx retransmission after the ACK');
  } finally {
    n.close();
  }
});

test('CANCEL before the answer: 200 to the CANCEL at each hop, 487 to the INVITE, ACKed hop by hop', async () => {
  const { n, alice, bob, bobUri } = await pair();
  try {
    let incoming: Call | undefined;
    let decide!: (a: { accept: true }) => void;
    // Bob's phone rings and nobody picks up.
    bob.onInvite = (c) => { incoming = c; return new Promise((r) => { decide = r; }); };
    const call = alice.invite(bobUri, { sdp: OFFER });
    for (let i = 0; i < 100 && incoming === undefined; i++) await sleep(10);
    assert.ok(incoming, 'the INVITE reached bob');
    const c = await call.cancel();
    assert.is(c.status, 200);
    const final = await call.final;
    assert.is(final.status, 487);
    assert.is((await incoming!.ended).reason, 'CANCEL');
    assert.is(call.state, 'terminated');
    decide({ accept: true }); // too late: the call is over, nothing more is sent
    // Hop by hop (RFC 3261 16.10): each proxy answered the CANCEL it got and sent its own.
    assert.equal(uniq(n.trace.filter((e) => label(e) === 'CANCEL').map((e) => `${e.from}>${e.to}`)), ['UE alice>P-CSCF', 'P-CSCF>core', 'core>P-CSCF', 'P-CSCF>UE bob']);
    assert.equal(uniq(n.trace.filter((e) => label(e) === '200 CANCEL').map((e) => `${e.from}>${e.to}`)).sort(), ['P-CSCF>UE alice', 'core>P-CSCF', 'P-CSCF>core', 'UE bob>P-CSCF'].sort());
    // The 487 is acknowledged by each client transaction (17.1.1.3), with the INVITE's branch.
    await sleep(100);
    const acks = n.trace.filter((e) => label(e) === 'ACK');
    assert.equal(uniq(acks.map((e) => `${e.from}>${e.to}`)).sort(), ['UE alice>P-CSCF', 'P-CSCF>core', 'core>P-CSCF', 'P-CSCF>UE bob'].sort());
    const invite = n.trace.find((e) => e.from === 'UE alice' && label(e) === 'INVITE')!.message;
    const ack = acks.find((e) => e.from === 'UE alice')!.message;
    assert.is(ack.headers.values('via')[0], invite.headers.values('via')[0]);
    assert.is(ack.headers.get('cseq'), '1 ACK');
    assert.is(sent(n, 'UE bob', '200 INVITE').length, 0);
    // A CANCEL that matches no INVITE transaction is answered 481 by the first proxy (RFC 3261 16.10), not forwarded.
    const stray = raw([
      `CANCEL ${bobUri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${alice.portS.port};branch=z9hG4bKneverinvited`, 'Max-Forwards: 70',
      `From: <sip:alice@${n.realm}>;tag=x1`, `To: <${bobUri}>`, 'Call-ID: never-invited@127.0.0.1', 'CSeq: 1 CANCEL',
    ]);
    assert.is((await alice.node.request(stray, sa1(alice))).status, 481);
    assert.ok(!n.trace.some((e) => label(e) === 'CANCEL' && e.from === 'P-CSCF' && e.message.headers.get('call-id') === 'never-invited@127.0.0.1'), 'not forwarded');
  } finally {
    n.close();
  }
});

test('a MESSAGE to a registered contact URI (not the AOR) reaches its UE through the core\'s contact index; after de-registration 404', async () => {
  const { n, alice, bob } = await pair();
  try {
    const contact = `sip:bob@127.0.0.1:${bob.portS.port}`;
    const got = new Promise<void>((r) => { bob.onMessage = () => r(); });
    assert.is((await alice.message(contact, 'to the contact')).status, 200);
    await got;
    assert.is(bob.messages.at(-1)!.body, 'to the contact');
    // A re-registration replaces the binding (a new SA set, the same contact): still found.
    assert.is((await bob.reRegister()).status, 200);
    assert.is((await alice.message(contact, 'after re-registration')).status, 200);
    assert.is((await bob.deregister()).status, 200);
    const before = bob.messages.length;
    assert.is((await alice.message(contact, 'after de-registration')).status, 404);
    assert.is(bob.messages.length, before, 'nothing reached bob');
    assert.is(n.core.registrations.size, 1, 'only alice is registered');
  } finally {
    n.close();
  }
});

test('callee not registered: 480 (known to the HSS) or 404 (unknown), for INVITE and MESSAGE; nothing reaches a UE', async () => {
  const { n, alice } = await pair();
  try {
    await n.ue({ user: 'carol', release: 6, accessNetwork: 'lte' }); // a subscriber, never registered
    const carol = `sip:carol@${n.realm}`;
    const nobody = `sip:nobody@${n.realm}`;
    assert.is((await alice.message(carol, 'hi')).status, 480);
    assert.is((await alice.message(nobody, 'hi')).status, 404);
    const c1 = alice.invite(carol);
    assert.is((await c1.final).status, 480);
    assert.is(c1.state, 'terminated');
    const c2 = alice.invite(nobody);
    assert.is((await c2.final).status, 404);
    assert.ok(!n.trace.some((e) => e.to === 'UE carol'));
  } finally {
    n.close();
  }
});

test('a lost 200 to the INVITE: bob retransmits it, the proxies pass the retransmission on, alice ACKs; then no more', async () => {
  const net = new NodeUdpNetwork();
  const { n, alice, bob } = await pair(net);
  try {
    let lost = 0;
    // The first 200 to the INVITE is lost between the core and the P-CSCF (plain UDP there, so the filter can read it).
    net.drop = (w) => {
      if (lost > 0 || w.dstPort !== n.pcscf.coreSocket.port) return false;
      const text = new TextDecoder().decode(w.data);
      if (!/^SIP\/2\.0 200 /.test(text) || !/\r\nCSeq: 1 INVITE\r\n/i.test(text)) return false;
      lost++;
      return true;
    };
    let incoming: Call | undefined;
    bob.onInvite = (c) => { incoming = c; return { accept: true, sdp: ANSWER }; };
    const call = alice.invite(`sip:bob@${n.realm}`, { sdp: OFFER, rel100: 'none' });
    const res = await call.final;
    assert.is(lost, 1);
    assert.is(res.status, 200);
    const fromBob = sent(n, 'UE bob', '200 INVITE').length;
    assert.ok(fromBob >= 2, `bob sent the 200 ${fromBob} times`);
    // Each proxy passed the retransmission on (RFC 6026 Accepted state).
    assert.ok(sent(n, 'core', '200 INVITE').length >= 2);
    await sleep(300);
    assert.ok(n.trace.some((e) => e.to === 'UE bob' && label(e) === 'ACK'));
    const after = sent(n, 'UE bob', '200 INVITE').length;
    await sleep(300);
    assert.is(sent(n, 'UE bob', '200 INVITE').length, after, 'the ACK stopped the retransmissions');
    assert.is(incoming!.state, 'confirmed');
    assert.is(incoming!.end, undefined, 'not ended for want of an ACK');
    assert.is((await call.bye()).status, 200);
  } finally {
    n.close();
  }
});

test('no ACK for the 2xx: bob retransmits for 64*T1, then ends the call with BYE (RFC 3261 13.3.1.4)', async () => {
  const net = new NodeUdpNetwork();
  const { n, alice, bob } = await pair(net);
  try {
    let incoming: Call | undefined;
    bob.onInvite = (c) => { incoming = c; return { accept: true }; };
    // Every ACK toward bob is lost (on the plain hop from the core, where it can be read).
    net.drop = (w) => w.dstPort === n.pcscf.coreSocket.port && new TextDecoder().decode(w.data).startsWith('ACK ');
    const call = alice.invite(`sip:bob@${n.realm}`, { rel100: 'none' });
    assert.is((await call.final).status, 200);
    const end = await incoming!.ended;
    assert.equal(end, { by: 'timeout', reason: 'no ACK for the 2xx' });
    assert.ok(sent(n, 'UE bob', '200 INVITE').length >= 4);
    for (let i = 0; i < 50 && call.end === undefined; i++) await sleep(10);
    assert.equal(call.end, { by: 'remote', reason: 'BYE' });
  } finally {
    n.close();
  }
});

test('PRACK: alice supports 100rel, bob sends a reliable 180 (Require: 100rel, RSeq), alice PRACKs it (RAck) before the 200', async () => {
  const { n, alice, bob, bobUri } = await pair();
  try {
    let incoming: Call | undefined;
    bob.onInvite = (c) => { incoming = c; return { accept: true }; };
    const call = alice.invite(bobUri);
    assert.is((await call.final).status, 200);
    assert.is(call.pracks, 1);
    assert.is(incoming!.pracks, 1);
    const ringing = sent(n, 'P-CSCF', '180 INVITE').find((e) => e.to === 'UE alice')!.message as SipResponse;
    assert.is(ringing.headers.get('require'), '100rel');
    const rseq = ringing.headers.get('rseq')!;
    assert.match(rseq, /^\d+$/);
    const prack = sent(n, 'UE alice', 'PRACK')[0]!.message as SipRequest;
    assert.is(prack.headers.get('rack'), `${rseq} 1 INVITE`);
    assert.is(prack.headers.get('cseq'), '2 PRACK');
    // In the early dialog: the 180's Record-Route reversed, bob's contact as target.
    assert.is(prack.uri, `sip:bob@127.0.0.1:${bob.portS.port}`);
    assert.is(prack.headers.values('route').length, 5);
    // Bob's 200 to the INVITE only after the PRACK was answered.
    const order = n.trace.filter((e) => e.from === 'UE bob').map(label);
    assert.ok(order.indexOf('200 PRACK') < order.indexOf('200 INVITE'), order.join(', '));
    // Without 100rel from the caller, the 180 is not reliable and nothing is PRACKed.
    const plain = alice.invite(bobUri, { rel100: 'none' });
    assert.is((await plain.final).status, 200);
    assert.is(plain.pracks, 0);
    assert.is(uniq(sent(n, 'UE alice', 'PRACK').map((e) => e.message.headers.get('call-id')!)).length, 1, 'no PRACK in the second call');
    await call.bye();
    await plain.bye();
  } finally {
    n.close();
  }
});

test('a caller that never PRACKs the reliable 180: bob retransmits it, then rejects the INVITE with 504 (RFC 3262 3)', async () => {
  const { n, alice, bob, bobUri } = await pair();
  try {
    let incoming: Call | undefined;
    bob.onInvite = (c) => { incoming = c; return { accept: true }; };
    // A UA that says it supports 100rel and then ignores reliable provisional responses (raw INVITE, no UAC core).
    const via = `SIP/2.0/UDP 127.0.0.1:${alice.portS.port};branch=z9hG4bKnoprack1`;
    const inv = raw([
      `INVITE ${bobUri} SIP/2.0`, `Via: ${via}`, 'Max-Forwards: 70', `Route: <sip:127.0.0.1:${n.pcscf.portS.port};lr>`, ...alice.serviceRoute.map((r) => `Route: ${r}`),
      `From: <sip:alice@${n.realm}>;tag=np1`, `To: <${bobUri}>`, 'Call-ID: noprack-1@127.0.0.1', 'CSeq: 7 INVITE',
      `Contact: <sip:alice@127.0.0.1:${alice.portS.port}>`, 'Supported: 100rel',
    ]);
    const final = await alice.node.request(inv, sa1(alice));
    assert.is(final.status, 504);
    assert.ok(sent(n, 'UE bob', '180 INVITE').length >= 3, 'the reliable 180 was retransmitted');
    assert.is(incoming!.end?.reason, 'no PRACK');
  } finally {
    n.close();
  }
});

test('as other peers write them: an RFC 3261 24.2-style INVITE in compact form with an RFC 4317 offer; a raw BYE for no dialog gets 481', async () => {
  const { n, alice, bob, bobUri } = await pair();
  try {
    let incoming: Call | undefined;
    bob.onInvite = (c) => { incoming = c; return { accept: true, sdp: ANSWER }; };
    const route = [`<sip:127.0.0.1:${n.pcscf.portS.port};lr>`, ...alice.serviceRoute];
    const via = `SIP/2.0/UDP 127.0.0.1:${alice.portS.port};branch=z9hG4bK776asdhds`;
    const inv = raw([
      `INVITE ${bobUri} SIP/2.0`, `v: ${via}`, 'Max-Forwards: 70', `Route: ${route.join(',')}`,
      `t: Bob <${bobUri}>`, `f: Alice <sip:alice@${n.realm}>;tag=1928301774`, 'i: a84b4c76e66710@pc33.atlanta.example.com',
      'CSeq: 314159 INVITE', `m: <sip:alice@127.0.0.1:${alice.portS.port}>`, 'c: application/sdp',
    ], OFFER);
    const res = await alice.node.request(inv, sa1(alice));
    assert.is(res.status, 200);
    assert.is(res.headers.get('cseq'), '314159 INVITE');
    assert.is(res.headers.get('call-id'), 'a84b4c76e66710@pc33.atlanta.example.com');
    assert.is(new TextDecoder().decode(res.body), ANSWER);
    // Bob's side read the compact headers and the SDP.
    assert.is(incoming!.remoteSdp, OFFER);
    assert.is(incoming!.dialog!.remoteTag, '1928301774');
    assert.is(incoming!.dialog!.remoteSeq, 314159);
    assert.is(incoming!.dialog!.remoteUri, `"Alice" <sip:alice@${n.realm}>`);
    assert.is(incoming!.dialog!.remoteTarget, `sip:alice@127.0.0.1:${alice.portS.port}`);
    // The test acts as the UAC core: ACK (13.2.2.4) and BYE written out along the route set of the 200.
    const d = uacDialog(inv, res);
    alice.node.send(inDialogRequest(d, 'ACK', { via: `SIP/2.0/UDP 127.0.0.1:${alice.portS.port};branch=z9hG4bK776asdhdsack`, cseq: 314159 }), sa1(alice));
    const bye = raw([
      `BYE ${d.remoteTarget} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${alice.portS.port};branch=z9hG4bKnashds7`, 'Max-Forwards: 70',
      ...d.routeSet.map((r) => `Route: ${r}`), `From: Alice <sip:alice@${n.realm}>;tag=1928301774`, `To: Bob <${bobUri}>;tag=${d.remoteTag}`,
      'Call-ID: a84b4c76e66710@pc33.atlanta.example.com', 'CSeq: 314160 BYE',
    ]);
    assert.is((await alice.node.request(bye, sa1(alice))).status, 200);
    assert.equal(await incoming!.ended, { by: 'remote', reason: 'BYE' });
    // A BYE for a dialog bob never had (RFC 3261 15.1.2, 12.2.2): 481.
    const stray = raw([
      `BYE ${bobUri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${alice.portS.port};branch=z9hG4bKnodialog1`, 'Max-Forwards: 70',
      `Route: ${route.join(', ')}`, `From: <sip:alice@${n.realm}>;tag=zz1`, `To: <${bobUri}>;tag=nosuchdialog`,
      'Call-ID: never-was@127.0.0.1', 'CSeq: 1 BYE',
    ]);
    const r481 = await alice.node.request(stray, sa1(alice));
    assert.is(r481.status, 481);
    assert.ok(sent(n, 'UE bob', '481 BYE').length >= 1, 'bob itself answered');
    // And the replayed BYE of the ended dialog is 481 too.
    const again = raw([
      `BYE ${d.remoteTarget} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${alice.portS.port};branch=z9hG4bKnashds8`, 'Max-Forwards: 70',
      ...d.routeSet.map((r) => `Route: ${r}`), `From: Alice <sip:alice@${n.realm}>;tag=1928301774`, `To: Bob <${bobUri}>;tag=${d.remoteTag}`,
      'Call-ID: a84b4c76e66710@pc33.atlanta.example.com', 'CSeq: 314161 BYE',
    ]);
    assert.is((await alice.node.request(again, sa1(alice))).status, 481);
  } finally {
    n.close();
  }
});

// ---- The INVITE transactions alone (RFC 3261 17.1.1, 17.2.1; RFC 6026), fed RFC 3261 24.2's INVITE ----

const INVITE_242 = [
  'INVITE sip:bob@biloxi.com SIP/2.0', 'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds', 'Max-Forwards: 70',
  'Route: <sip:p1.atlanta.com;lr>', 'To: Bob <sip:bob@biloxi.com>', 'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.com', 'CSeq: 314159 INVITE', 'Contact: <sip:alice@pc33.atlanta.com>',
];
const inviteMsg = (via = 'z9hG4bK776asdhds'): SipRequest => raw(INVITE_242.map((l) => l.replace('z9hG4bK776asdhds', via)));
/** A response to the 24.2 INVITE as a UAS writes it (its To tag 'a6c85cf'). */
function responseTo(status: number, reason: string, branch = 'z9hG4bK776asdhds'): SipResponse {
  const text = [`SIP/2.0 ${status} ${reason}`, `Via: SIP/2.0/UDP pc33.atlanta.com;branch=${branch};received=192.0.2.1`, 'To: Bob <sip:bob@biloxi.com>;tag=a6c85cf',
    'From: Alice <sip:alice@atlanta.com>;tag=1928301774', 'Call-ID: a84b4c76e66710@pc33.atlanta.com', 'CSeq: 314159 INVITE', 'Content-Length: 0', '', ''].join('\r\n');
  return parseSipMessage(enc.encode(text)) as SipResponse;
}
const ackMsg = (branch: string): SipRequest => raw([
  'ACK sip:bob@biloxi.com SIP/2.0', `Via: SIP/2.0/UDP pc33.atlanta.com;branch=${branch}`, 'Max-Forwards: 70', 'To: Bob <sip:bob@biloxi.com>;tag=a6c85cf',
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774', 'Call-ID: a84b4c76e66710@pc33.atlanta.com', 'CSeq: 314159 ACK',
]);

test('INVITE client transaction: a 486 is ACKed by the transaction (17.1.1.3), again for its retransmission; a 2xx is not, its retransmissions go to the TU', async () => {
  const out: SipMessage[] = [];
  const layer = new TransactionLayer<null>((m) => out.push(m), { t1: 1e6 });
  try {
    const inv = inviteMsg();
    const p = layer.request(inv, null);
    assert.is(out.length, 1);
    assert.is(layer.receive(responseTo(100, 'Trying'), null).kind, 'absorbed');
    assert.is(layer.receive(responseTo(486, 'Busy Here'), null).kind, 'response');
    assert.is((await p).status, 486);
    const ack = out[1] as SipRequest;
    assert.is(ack.method, 'ACK');
    assert.is(ack.uri, 'sip:bob@biloxi.com');
    assert.equal(ack.headers.getAll('via'), ['SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds']);
    assert.is(ack.headers.get('to'), 'Bob <sip:bob@biloxi.com>;tag=a6c85cf');
    assert.is(ack.headers.get('from'), 'Alice <sip:alice@atlanta.com>;tag=1928301774');
    assert.is(ack.headers.get('cseq'), '314159 ACK');
    assert.equal(ack.headers.getAll('route'), ['<sip:p1.atlanta.com;lr>']);
    assert.is(layer.receive(responseTo(486, 'Busy Here'), null).kind, 'absorbed');
    assert.is(out.length, 3);
    assert.is((out[2] as SipRequest).method, 'ACK');
    // A 2xx: resolved, no ACK from the transaction; retransmissions reach onRetransmission.
    const inv2 = inviteMsg('z9hG4bKsecond');
    const again: SipResponse[] = [];
    const p2 = layer.request(inv2, null, { onRetransmission: (r) => again.push(r) });
    layer.receive(responseTo(200, 'OK', 'z9hG4bKsecond'), null);
    assert.is((await p2).status, 200);
    assert.is(out.length, 4, 'only the INVITE was sent');
    layer.receive(responseTo(200, 'OK', 'z9hG4bKsecond'), null);
    layer.receive(responseTo(200, 'OK', 'z9hG4bKsecond'), null);
    assert.is(again.length, 2);
    // An ACK is not a client transaction; a CANCEL copies the INVITE's Request-URI, top Via, From, To, Call-ID, Route (9.1).
    await layer.request(ackMsg('z9hG4bKx'), null).then(() => assert.unreachable(), (e: { code?: string }) => assert.is(e.code, 'SIP_TRANSACTION'));
    const c = buildCancel(inv);
    assert.is(c.uri, inv.uri);
    assert.equal(c.headers.getAll('via'), inv.headers.getAll('via'));
    assert.is(c.headers.get('to'), 'Bob <sip:bob@biloxi.com>');
    assert.is(c.headers.get('cseq'), '314159 CANCEL');
    assert.equal(c.headers.getAll('route'), ['<sip:p1.atlanta.com;lr>']);
  } finally {
    layer.close();
  }
});

test('INVITE client transaction without any answer: Timer A retransmits, Timer B fails it', async () => {
  const out: SipMessage[] = [];
  const layer = new TransactionLayer<null>((m) => out.push(m), { t1: 5 });
  try {
    const err = await layer.request(inviteMsg(), null).then(() => undefined, (e: Error & { code?: string }) => e);
    assert.is(err?.code, 'SIP_TRANSACTION');
    assert.match(err!.message, /Timer B/);
    assert.ok(out.length >= 4, `${out.length} sends`);
    assert.ok(out.every((m) => m.type === 'request' && m.method === 'INVITE'));
  } finally {
    layer.close();
  }
});

test('INVITE server transaction: 100 Trying when the TU is slow, a 486 again for a retransmitted INVITE and by Timer G until the ACK, which it absorbs; Timer H without one', async () => {
  const out: SipMessage[] = [];
  const layer = new TransactionLayer<null>((m) => out.push(m), { t1: 5, t2: 20 });
  try {
    const inc = layer.receive(inviteMsg(), null);
    assert.is(inc.kind, 'request');
    if (inc.kind !== 'request') return;
    assert.is(out.length, 0);
    await sleep(5);
    assert.is((out[0] as SipResponse).status, 100);
    assert.is(out[0]!.headers.get('to'), 'Bob <sip:bob@biloxi.com>');
    // A retransmitted INVITE gets the 100 again, and nothing goes to the TU.
    assert.is(layer.receive(inviteMsg(), null).kind, 'absorbed');
    assert.is((out[1] as SipResponse).status, 100);
    const busy = responseTo(486, 'Busy Here');
    inc.respond(busy);
    assert.is(layer.receive(inviteMsg(), null).kind, 'absorbed');
    const n486 = (): number => out.filter((m) => m.type === 'response' && m.status === 486).length;
    assert.is(n486(), 2);
    await sleep(40);
    assert.ok(n486() >= 3, 'Timer G retransmits the 486');
    assert.is(layer.receive(ackMsg('z9hG4bK776asdhds'), null).kind, 'absorbed', 'the ACK belongs to the transaction');
    const after = n486();
    await sleep(60);
    assert.is(n486(), after, 'no retransmission after the ACK');
    // Without an ACK: Timer H reports it.
    const inc2 = layer.receive(inviteMsg('z9hG4bKnoack'), null);
    if (inc2.kind !== 'request') return assert.unreachable();
    const timedOut = new Promise<boolean>((r) => { inc2.onAckTimeout?.(() => r(true)); setTimeout(() => r(false), 2000); });
    inc2.respond(responseTo(486, 'Busy Here', 'z9hG4bKnoack'));
    assert.ok(await timedOut, 'Timer H fired');
  } finally {
    layer.close();
  }
});

test('INVITE server transaction after a 2xx: the TU may send it again, retransmitted INVITEs are absorbed, the 2xx ACK goes to the TU unanswered', () => {
  const out: SipMessage[] = [];
  const layer = new TransactionLayer<null>((m) => out.push(m), { t1: 1e6 });
  try {
    const inc = layer.receive(inviteMsg(), null);
    if (inc.kind !== 'request') return assert.unreachable();
    const ok = responseTo(200, 'OK');
    inc.respond(ok);
    inc.respond(ok); // the UAS core's retransmission (13.3.1.4)
    assert.is(out.length, 2);
    assert.throws(() => inc.respond(responseTo(486, 'Busy Here')));
    assert.is(layer.receive(inviteMsg(), null).kind, 'absorbed');
    assert.is(out.length, 2, 'a retransmitted INVITE is not answered by the transaction (RFC 6026 Accepted)');
    const ack = layer.receive(ackMsg('z9hG4bKnewbranch'), null);
    assert.is(ack.kind, 'request');
    if (ack.kind === 'request') assert.throws(() => ack.respond(responseTo(200, 'OK')));
  } finally {
    layer.close();
  }
});

test('the scenario\'s MESSAGE and call over IPv6 (::1): bracketed Via, Contact, Record-Route and Route all the way', async () => {
  const r = await runScenario({ net: new NodeUdpNetwork(), address: '::1', notifies: 1, timers: FAST, session: true, autoRefresh: false });
  assert.equal(r.session?.message, { status: 200, received: 'Hello bob, alice here: calling you now.' });
  assert.equal(r.session?.call, { invite: 200, bye: 200, acked: true });
  assert.ok(r.session!.ueHops > 0);
  assert.is(r.session!.protectedUeHops, r.session!.ueHops);
  const ok = r.trace.find((e) => e.to === 'UE alice' && e.message.type === 'response' && e.message.status === 200 && e.message.headers.get('cseq') === '1 INVITE')!;
  const rr = ok.message.headers.values('record-route');
  assert.is(rr.length, 5);
  for (const e of rr) assert.match(e, /^<sip:\[::1\]:\d+;lr>$/);
});

test.run();
