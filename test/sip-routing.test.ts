// SIP routing and registration details between the IMS roles, checked on the messages as they cross each
// hop (issue 15, items 3, 4 and 8): Path on every REGISTER the P-CSCF relays (RFC 3327), Service-Route
// stored by the UE and used as its preloaded route (RFC 3608, TS 24.229 5.1.2A.1), double Record-Route
// on a SUBSCRIBE and the NOTIFY following the dialog's route set (RFC 3261 12, RFC 5658), Via sent-by
// ports over the SAs (TS 34.229-1 A.1.1) and received/rport for requests in clear (RFC 3581), the UE's
// own contact's expiry among several in a 200 (RFC 3261 10.2.4), several contacts of one IMPU, and a
// new Call-ID after a 401 without Security-Server.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Hss, akaNonce, initSync } from '../src/index.js';
import { UeClient, demoKeys, identityKey, startNetwork, type TraceEvent } from '../src/ims/index.js';
import { makeRequest, makeResponse, newBranch } from '../src/ims/sip-node.js';
import { NodeUdpNetwork } from '../src/node.js';
import { headerParam, parseSipMessage, parseVia, serializeSipMessage, type SipRequest } from '../src/sip/message.js';

initSync();

const FAST = { t1: 25, t2: 100, t4: 200 };

async function world() {
  const trace: TraceEvent[] = [];
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST, onTrace: (e) => trace.push(e) });
  const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
  const bob = await n.ue({ user: 'bob', release: 6, accessNetwork: 'lte' });
  for (const u of [alice, bob]) assert.is((await u.register()).status, 200);
  const between = (from: string, to: string, method?: string): TraceEvent[] => trace.filter((e) => e.from === from && e.to === to && (method === undefined || (e.message.type === 'request' && e.message.method === method)));
  return { n, alice, bob, trace, between };
}

test('Path and Require: path on every REGISTER the P-CSCF relays; the 200 echoes Path and carries Service-Route; the UE stores it', async () => {
  const w = await world();
  try {
    await w.alice.reRegister();
    const registers = w.between('P-CSCF', 'core', 'REGISTER').map((e) => e.message as SipRequest);
    assert.ok(registers.length >= 5, 'SM1, SM7 of two UEs and a re-registration');
    const pathUri = `<sip:term@127.0.0.1:${w.n.pcscf.coreSocket.port};lr>`;
    for (const r of registers) {
      assert.equal(r.headers.values('path'), [pathUri]);
      assert.ok(r.headers.values('require').map((t) => t.toLowerCase()).includes('path'));
    }
    assert.equal(w.n.core.registrations.get(identityKey(`sip:alice@${w.n.realm}`))!.path, [pathUri], 'the core keeps the Path of the protected REGISTER');
    const ok = w.between('P-CSCF', 'UE alice').map((e) => e.message).filter((m) => m.type === 'response' && m.status === 200).pop()!;
    assert.equal(ok.headers.values('path'), [pathUri]);
    const serviceRoute = `<sip:orig@127.0.0.1:${w.n.core.port};lr>`;
    assert.equal(ok.headers.values('service-route'), [serviceRoute]);
    assert.equal(w.alice.serviceRoute, [serviceRoute]);
  } finally {
    w.n.close();
  }
});

test('preloaded route and Record-Route: PUBLISH/SUBSCRIBE carry the P-CSCF and the Service-Route; the NOTIFY follows the dialog route set', async () => {
  const w = await world();
  try {
    const first = new Promise<void>((r) => { w.bob.onNotify = () => r(); });
    assert.is((await w.bob.subscribe(`sip:alice@${w.n.realm}`)).status, 200);
    await first;
    const presence = (e: TraceEvent): boolean => e.message.headers.get('event') === 'presence';
    const sub = w.between('UE bob', 'P-CSCF', 'SUBSCRIBE').filter(presence)[0]!.message as SipRequest;
    const set = w.bob.current!;
    assert.equal(sub.headers.values('route'), [`<sip:127.0.0.1:${set.pcscf.portS};lr>`, `<sip:orig@127.0.0.1:${w.n.core.port};lr>`]);
    const fwd = w.between('P-CSCF', 'core', 'SUBSCRIBE').filter(presence)[0]!.message as SipRequest;
    assert.equal(fwd.headers.values('route'), [`<sip:orig@127.0.0.1:${w.n.core.port};lr>`], 'own entry removed, the Service-Route kept');
    const rr = [`<sip:127.0.0.1:${w.n.pcscf.coreSocket.port};lr>`, `<sip:127.0.0.1:${w.n.pcscf.portS.port};lr>`];
    assert.equal(fwd.headers.values('record-route'), rr);
    const ok = w.between('P-CSCF', 'UE bob').map((e) => e.message).find((m) => m.type === 'response' && m.headers.get('cseq')?.endsWith('SUBSCRIBE') && m.headers.get('call-id') === sub.headers.get('call-id'))!;
    assert.equal(ok.headers.values('record-route'), rr, 'the 200 carries the route set back to the UE');
    const notifyCore = w.between('core', 'P-CSCF', 'NOTIFY').filter(presence)[0]!.message as SipRequest;
    assert.equal(notifyCore.headers.values('route'), rr, 'the core routes the NOTIFY by the dialog\'s route set');
    const notifyUe = w.between('P-CSCF', 'UE bob', 'NOTIFY').filter(presence)[0]!.message as SipRequest;
    assert.equal(notifyUe.headers.values('route'), [], 'the P-CSCF removed its own entries');
    // The P-CSCF's Via toward the UE names its protected server port.
    assert.is(parseVia(notifyUe.headers.values('via')[0]!).port, w.n.pcscf.portS.port);
  } finally {
    w.n.close();
  }
});

test('Via: over the SAs the UE names port_us; in clear it asks for rport, and the P-CSCF fills in received and rport', async () => {
  const w = await world();
  try {
    const set = w.alice.current!;
    for (const e of w.between('UE alice', 'P-CSCF')) {
      const m = e.message;
      if (m.type !== 'request') continue;
      const via = parseVia(m.headers.values('via')[0]!);
      assert.is(via.port, e.sa ? set.ue.portS : w.alice.unprotected.port, `${m.method} over ${e.sa?.name ?? 'clear'}`);
      assert.is(headerParam(m.headers.values('via')[0]!, 'rport'), '');
    }
    // A REGISTER in clear whose Via names another address than its source (as behind a NAT).
    const sock = await new NodeUdpNetwork().bind('127.0.0.1', 0);
    const got = new Promise<string>((resolve) => sock.onMessage((d) => resolve(parseSipMessage(d.data).headers.values('via')[0]!)));
    const req = makeRequest({
      method: 'REGISTER', uri: `sip:${w.n.realm}`, from: `<sip:nobody@${w.n.realm}>;tag=1`, to: `<sip:nobody@${w.n.realm}>`, callId: 'nat@x', cseq: 1,
      via: `SIP/2.0/UDP 192.0.2.77:5060;rport;branch=${newBranch()}`, headers: [['Contact', '<sip:nobody@192.0.2.77:5060>']],
    });
    sock.send(serializeSipMessage(req), w.n.pcscf.port, '127.0.0.1');
    const via = await got;
    assert.is(headerParam(via, 'received'), '127.0.0.1');
    assert.is(headerParam(via, 'rport'), String(sock.port));
    sock.close();
  } finally {
    w.n.close();
  }
});

test('several contacts of one public identity: each UE reads its own expiry from the 200, and both stay bound', async () => {
  const net = new NodeUdpNetwork();
  const n = await startNetwork({ net, timers: FAST });
  try {
    const impu = `sip:alice@${n.realm}`;
    // Two devices (two IMPIs) sharing alice's IMPU.
    for (const d of ['alice-phone', 'alice-tablet']) n.hss.addSubscriber({ impi: `${d}@${n.realm}`, ...demoKeys(), impus: [impu] });
    const device = (impi: string, expires: number) => UeClient.start({
      net, address: '127.0.0.1', impi: `${impi}@${n.realm}`, impu, realm: n.realm, ...demoKeys(), pcscf: { address: '127.0.0.1', port: n.pcscf.port, encapPort: n.pcscf.encapPort! },
      release: 6, expires, timers: FAST,
    });
    const phone = await device('alice-phone', 3000);
    const tablet = await device('alice-tablet', 300);
    try {
      assert.is((await phone.register()).status, 200);
      const t = await tablet.register();
      assert.is(t.status, 200);
      const reg = n.core.registrations.get(identityKey(impu))!;
      assert.is(reg.bindings.size, 2, 'both contacts are bound');
      // The tablet's 200 lists the phone's contact first (3000 s) and its own (300 s): it took its own.
      const lifetime = (tablet.current!.expiresAt - Date.now()) / 1000;
      assert.ok(lifetime > 300 && lifetime <= 331, `tablet set lifetime ${lifetime} s (300 s + 30 s margin)`);
      const phoneLife = (phone.current!.expiresAt - Date.now()) / 1000;
      assert.ok(phoneLife > 3000, `phone ${phoneLife} s`);
      // De-registering the tablet leaves the phone's binding and the registration.
      assert.is((await tablet.deregister()).status, 200);
      assert.is(n.core.registrations.get(identityKey(impu))!.bindings.size, 1);
      assert.is((await phone.publish(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${impu}"/>`)).status, 200);
    } finally {
      phone.close();
      tablet.close();
    }
  } finally {
    n.close();
  }
});

test('a 401 without Security-Server: the UE abandons, and its next registration uses a new Call-ID', async () => {
  // A P-CSCF that drops Security-Server (as a misconfigured one would), answering with a real AKA challenge.
  const net = new NodeUdpNetwork();
  const hss = new Hss();
  const impi = 'alice@ims.example.org';
  hss.addSubscriber({ impi, ...demoKeys() });
  const fake = await net.bind('127.0.0.1', 0);
  const callIds: string[] = [];
  fake.onMessage((d) => {
    const m = parseSipMessage(d.data);
    if (m.type !== 'request') return;
    callIds.push(m.headers.get('call-id')!);
    const av = hss.vector(impi);
    const res = makeResponse(m, 401, 'Unauthorized', [['WWW-Authenticate', `Digest realm="ims.example.org",nonce="${akaNonce(av.rand, av.autn)}",algorithm=AKAv1-MD5,qop="auth"`]]);
    fake.send(serializeSipMessage(res), d.port, d.address);
  });
  const ue = await UeClient.start({ net, address: '127.0.0.1', impi, impu: `sip:${impi}`, realm: 'ims.example.org', ...demoKeys(), pcscf: { address: '127.0.0.1', port: fake.port }, timers: FAST });
  try {
    const a = await ue.register();
    assert.is(a.status, 0);
    assert.match(a.detail ?? '', /Security-Server/);
    const b = await ue.register();
    assert.is(b.status, 0);
    assert.is(callIds.length, 2);
    assert.is.not(callIds[0], callIds[1]);
    assert.is(ue.db.size, 0);
  } finally {
    ue.close();
    fake.close();
    hss.remove(impi);
  }
});

test('extensions and methods: the P-CSCF answers 420 to an unknown Proxy-Require, the core 405 to a method it does not implement', async () => {
  const w = await world();
  try {
    const set = w.alice.current!;
    const sa = set.sa('SA1');
    const send = (method: string, extra: Array<[string, string]>) => w.alice.node.request(makeRequest({
      method, uri: `sip:alice@${w.n.realm}`, from: `<sip:alice@${w.n.realm}>;tag=x1`, to: `<sip:alice@${w.n.realm}>`, callId: `${method}@ext`, cseq: 1,
      via: `SIP/2.0/UDP 127.0.0.1:${w.alice.portS.port};branch=${newBranch()}`,
      headers: [['Security-Verify', w.alice.sec.securityVerify().join(', ')], ['Require', 'sec-agree'], ...extra],
    }), { kind: 'protected', port: w.alice.protectedPort(sa.srcPort)!, sa });
    const r420 = await send('OPTIONS', [['Proxy-Require', 'sec-agree, x-teleport']]);
    assert.is(r420.status, 420);
    assert.equal(r420.headers.values('unsupported'), ['x-teleport']);
    const r405 = await send('OPTIONS', [['Proxy-Require', 'sec-agree']]);
    assert.is(r405.status, 405, 'the core implements REGISTER, PUBLISH and SUBSCRIBE');
    assert.match(r405.headers.get('allow') ?? '', /PUBLISH/);
  } finally {
    w.n.close();
  }
});

test.run();
