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
import { startNetwork, uacDialog, inDialogRequest, type ImsNetwork, type Route, type TraceEvent, type UeClient, type Call } from '../src/ims/index.js';
import { parseSipMessage, type SipRequest, type SipResponse } from '../src/sip/message.js';
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

async function pair(): Promise<{ n: ImsNetwork; alice: UeClient; bob: UeClient; bobUri: string }> {
  // No reg-event traffic of the UEs' own: the trace holds only what the test does.
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST, autoRefresh: false });
  const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: '3GPP-E-UTRAN-FDD' });
  const bob = await n.ue({ user: 'bob', release: 6, accessNetwork: '3GPP-E-UTRAN-FDD' });
  assert.is((await alice.register()).status, 200);
  assert.is((await bob.register()).status, 200);
  return { n, alice, bob, bobUri: `sip:bob@${n.realm}` };
}

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
    assert.equal(hops.map((e) => `${e.from}>${e.to} ${label(e)} ${e.sa?.name ?? 'plain'}`), [
      'UE alice>P-CSCF MESSAGE SA1', 'P-CSCF>core MESSAGE plain', 'core>P-CSCF MESSAGE plain', 'P-CSCF>UE bob MESSAGE SA2',
      'UE bob>P-CSCF 200 MESSAGE SA4', 'P-CSCF>core 200 MESSAGE plain', 'core>P-CSCF 200 MESSAGE plain', 'P-CSCF>UE alice 200 MESSAGE SA3',
    ]);
    // Retargeted by the core to bob's registered contact, along bob's Path.
    const toBob = hops[3]!.message as SipRequest;
    assert.is(toBob.uri, `sip:bob@127.0.0.1:${bob.portS.port}`);
    assert.is(toBob.headers.get('p-asserted-identity'), `<sip:alice@${n.realm}>`);
    assert.is((hops[2]!.message as SipRequest).headers.values('route').join(), `<sip:term@127.0.0.1:${n.pcscf.coreSocket.port};lr>`);
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
    const byes = n.trace.filter((e) => label(e) === 'BYE').map((e) => `${e.from}>${e.to} ${(e.message as SipRequest).headers.values('route').join(' ')}`);
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

test.run();
