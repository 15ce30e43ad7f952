// Hostile UEs against the P-CSCF and the core (issue 13, items 1, 3 and 6): a registered UE (alice) that
// uses her own SAs to speak as another subscriber (bob), a spoofed initial REGISTER for bob's IMPI sent
// while bob registers, floods of initial REGISTERs for one IMPI from many addresses, and a malformed
// Max-Forwards. Every request here is hand-built and sent over alice's real SA1 (or a plain socket), as a
// hostile UE would; the checks look at what bob, the core and the SA databases end up with.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AkaDigestServer, Hss, initSync, initialAuthorization, formatIpsec3gpp } from '../src/index.js';
import {
  MemoryNetwork, buildPidf, demoKeys, identityKey, startNetwork, type ImsNetwork, type UeClient,
} from '../src/ims/index.js';
import { makeRequest, newBranch, newTag } from '../src/ims/sip-node.js';
import { NodeUdpNetwork } from '../src/node.js';
import { parseSipMessage, serializeSipMessage, type SipRequest, type SipResponse } from '../src/sip/message.js';

initSync();

const FAST = { t1: 25, t2: 100, t4: 200 };

interface World {
  n: ImsNetwork;
  alice: UeClient;
  bob: UeClient;
  uri: (user: string) => string;
  impi: (user: string) => string;
  /** What reached the core from the P-CSCF. */
  toCore: SipRequest[];
}

async function world(net = new NodeUdpNetwork()): Promise<World> {
  const toCore: SipRequest[] = [];
  const n = await startNetwork({ net, timers: FAST, onTrace: (e) => { if (e.to === 'core' && e.message.type === 'request') toCore.push(e.message); } });
  const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
  const bob = await n.ue({ user: 'bob', release: 6, accessNetwork: 'lte' });
  for (const u of [alice, bob]) assert.is((await u.register()).status, 200);
  return { n, alice, bob, toCore, uri: (u) => `sip:${u}@${n.realm}`, impi: (u) => `${u}@${n.realm}` };
}

/** Sends a hand-built request over SA1 of `ue`'s current set, as a hostile UE would. */
function overSa1(ue: UeClient, req: SipRequest): Promise<SipResponse> {
  const set = ue.current!;
  const sa = set.sa('SA1');
  return ue.node.request(req, { kind: 'protected', port: ue.protectedPort(sa.srcPort)!, sa });
}

function request(w: World, ue: UeClient, o: { method: string; uri: string; from: string; to: string; headers?: Array<[string, string]>; body?: string }): SipRequest {
  const set = ue.current!;
  return makeRequest({
    method: o.method, uri: o.uri, from: `<${o.from}>;tag=${newTag()}`, to: `<${o.to}>`,
    callId: `${newTag()}@hostile`, cseq: 1, via: `SIP/2.0/UDP ${w.n.address}:${set.ue.portC};branch=${newBranch()}`,
    headers: [...(o.headers ?? []), ['Security-Verify', ue.sec.securityVerify().join(', ')]],
    ...(o.body !== undefined ? { body: { type: 'application/pidf+xml', data: o.body } } : {}),
  });
}

const forwarded = (w: World, method: string): SipRequest[] => w.toCore.filter((r) => r.method === method);

test('a REGISTER over alice\'s SAs for bob\'s IMPI is refused 403 and reaches nobody; bob stays registered', async () => {
  const w = await world();
  try {
    const before = forwarded(w, 'REGISTER').length;
    const reg = w.n.core.registrations.get(identityKey(w.uri('bob')))!;
    const auth = initialAuthorization({ username: w.impi('bob'), realm: w.n.realm, uri: `sip:${w.n.realm}` });
    const res = await overSa1(w.alice, request(w, w.alice, {
      method: 'REGISTER', uri: `sip:${w.n.realm}`, from: w.uri('bob'), to: w.uri('bob'),
      headers: [['Authorization', auth], ['Contact', `<sip:bob@${w.n.address}:${w.alice.portS.port}>;expires=600`], ['Security-Client', formatIpsec3gpp({ alg: 'hmac-sha-1-96', ealg: 'aes-cbc', spiC: 7000, spiS: 7001, portC: 41000, portS: 41001 })]],
    }));
    assert.is(res.status, 403);
    assert.match(res.headers.get('warning') ?? '', /private identity/);
    assert.is(forwarded(w, 'REGISTER').length, before, 'nothing forwarded to the core');
    assert.is(w.n.core.registrations.get(identityKey(w.uri('bob'))), reg, 'bob\'s binding untouched');
    assert.is(w.n.pcscf.sec.attempts(w.impi('bob')).length, 0, 'no attempt stored for bob');
    // bob re-registers normally afterwards.
    assert.is((await w.bob.reRegister()).status, 200);
  } finally {
    w.n.close();
  }
});

test('a REGISTER for bob over alice\'s SAs while bob re-authenticates does not break bob\'s registration', async () => {
  const w = await world();
  try {
    w.n.core.requireReauthentication(w.uri('bob'));
    let forged: Promise<SipResponse> | undefined;
    w.n.pcscf.events.challenged = (e) => {
      if (e.key !== w.impi('bob') || forged) return;
      // Between bob's 401 and his protected REGISTER: alice, over her own SA1, REGISTERs "as bob".
      const auth = initialAuthorization({ username: w.impi('bob'), realm: w.n.realm, uri: `sip:${w.n.realm}` });
      forged = overSa1(w.alice, request(w, w.alice, {
        method: 'REGISTER', uri: `sip:${w.n.realm}`, from: w.uri('bob'), to: w.uri('bob'),
        headers: [['Authorization', auth], ['Contact', `<sip:bob@${w.n.address}:${w.alice.portS.port}>;expires=600`], ['Security-Client', formatIpsec3gpp({ alg: 'hmac-sha-1-96', ealg: 'aes-cbc', spiC: 7000, spiS: 7001, portC: 41000, portS: 41001 })]],
      }));
    };
    const r = await w.bob.reRegister();
    assert.ok(forged, 'the forged REGISTER was sent during bob\'s challenge');
    assert.is((await forged!).status, 403);
    assert.is(r.status, 200, `bob re-registered (${r.detail ?? ''})`);
    assert.is(w.bob.current!.state, 'established');
  } finally {
    w.n.close();
  }
});

test('PUBLISH and SUBSCRIBE as bob over alice\'s SAs: refused by the P-CSCF; forged P-Asserted-Identity removed; the core authorises by the asserted identity', async () => {
  const w = await world();
  try {
    const doc = buildPidf({ entity: w.uri('bob'), basic: 'open', note: 'forged by alice' });
    // From bob: the P-CSCF refuses (bob is not registered over alice's set).
    let res = await overSa1(w.alice, request(w, w.alice, { method: 'PUBLISH', uri: w.uri('bob'), from: w.uri('bob'), to: w.uri('bob'), headers: [['Event', 'presence']], body: doc }));
    assert.is(res.status, 403);
    assert.match(res.headers.get('warning') ?? '', /not registered over this security association/);
    // P-Preferred-Identity bob: refused too.
    res = await overSa1(w.alice, request(w, w.alice, { method: 'PUBLISH', uri: w.uri('bob'), from: w.uri('alice'), to: w.uri('bob'), headers: [['Event', 'presence'], ['P-Preferred-Identity', `<${w.uri('bob')}>`]], body: doc }));
    assert.is(res.status, 403);
    // From alice, To bob, with a forged P-Asserted-Identity of bob: the P-CSCF replaces it with alice's, and the
    // core refuses alice publishing bob's presence.
    const n = forwarded(w, 'PUBLISH').length;
    res = await overSa1(w.alice, request(w, w.alice, { method: 'PUBLISH', uri: w.uri('bob'), from: w.uri('alice'), to: w.uri('bob'), headers: [['Event', 'presence'], ['P-Asserted-Identity', `<${w.uri('bob')}>`]], body: doc }));
    assert.is(res.status, 403);
    assert.match(res.headers.get('warning') ?? '', /only its own presence/);
    const seen = forwarded(w, 'PUBLISH').slice(n);
    assert.is(seen.length, 1);
    assert.equal(seen[0]!.headers.getAll('p-asserted-identity'), [`<${w.uri('alice')}>`], 'the UE\'s P-Asserted-Identity was replaced');
    assert.is(w.n.core.presence.get(identityKey(w.uri('bob'))), undefined, 'no document stored for bob');
    // SUBSCRIBE with From bob: refused at the P-CSCF.
    res = await overSa1(w.alice, request(w, w.alice, { method: 'SUBSCRIBE', uri: w.uri('bob'), from: w.uri('bob'), to: w.uri('bob'), headers: [['Event', 'presence'], ['Expires', '600'], ['Contact', `<sip:alice@${w.n.address}:${w.alice.portS.port}>`]] }));
    assert.is(res.status, 403);
    // SUBSCRIBE with a forged P-Asserted-Identity of bob: the core's watcher is alice, whatever the UE claimed.
    res = await overSa1(w.alice, request(w, w.alice, { method: 'SUBSCRIBE', uri: w.uri('bob'), from: w.uri('alice'), to: w.uri('bob'), headers: [['Event', 'presence'], ['Expires', '600'], ['P-Asserted-Identity', `<${w.uri('bob')}>`], ['Contact', `<sip:alice@${w.n.address}:${w.alice.portS.port}>`]] }));
    assert.is(res.status, 200);
    const watchers = [...w.n.core.subscriptions.values()].filter((s) => s.presentity === identityKey(w.uri('bob'))).map((s) => s.watcher);
    assert.equal(watchers, [identityKey(w.uri('alice'))]);
    // The honest path still works: alice publishes her own presence (P-Preferred-Identity of her own is fine).
    res = await overSa1(w.alice, request(w, w.alice, { method: 'PUBLISH', uri: w.uri('alice'), from: w.uri('alice'), to: w.uri('alice'), headers: [['Event', 'presence'], ['P-Preferred-Identity', `<${w.uri('alice')}>`]], body: buildPidf({ entity: w.uri('alice'), basic: 'open' }) }));
    assert.is(res.status, 200);
  } finally {
    w.n.close();
  }
});

test('the core honours P-Asserted-Identity only from a trusted P-CSCF, and a REGISTER only for an IMPU of its IMPI', async () => {
  const net = new MemoryNetwork();
  const w = await world(net as unknown as NodeUdpNetwork);
  try {
    const sock = await net.bind(w.n.address, 0);
    const answers: SipResponse[] = [];
    sock.onMessage((d) => { const m = parseSipMessage(d.data); if (m.type === 'response') answers.push(m); });
    const publish = makeRequest({
      method: 'PUBLISH', uri: w.uri('alice'), from: `<${w.uri('alice')}>;tag=1`, to: `<${w.uri('alice')}>`, callId: 'direct@x', cseq: 1,
      via: `SIP/2.0/UDP ${w.n.address}:${sock.port};branch=${newBranch()}`,
      headers: [['Event', 'presence'], ['P-Asserted-Identity', `<${w.uri('alice')}>`]],
      body: { type: 'application/pidf+xml', data: buildPidf({ entity: w.uri('alice'), basic: 'open', note: 'not from the P-CSCF' }) },
    });
    sock.send(serializeSipMessage(publish), w.n.core.port, w.n.address);
    await new Promise((r) => setTimeout(r, 50));
    assert.is(answers[0]?.status, 403);
    assert.is(w.n.core.presence.get(identityKey(w.uri('alice'))), undefined);
    // alice's IMPI with bob's IMPU (To): the S-CSCF refuses before any challenge.
    const hijack = (): ReturnType<typeof makeRequest> => makeRequest({
      method: 'REGISTER', uri: `sip:${w.n.realm}`, from: `<${w.uri('bob')}>;tag=1`, to: `<${w.uri('bob')}>`, callId: 'hijack@x', cseq: 1,
      via: `SIP/2.0/UDP ${w.n.address}:${sock.port};branch=${newBranch()}`,
      headers: [['Authorization', initialAuthorization({ username: w.impi('alice'), realm: w.n.realm, uri: `sip:${w.n.realm}` })], ['Contact', '<sip:x@192.0.2.9:5060>']],
    });
    const nonces = w.n.core.scscf.outstanding();
    // From this untrusted socket no REGISTER gets as far as the IMPU check (its 401 would carry CK and IK).
    sock.send(serializeSipMessage(hijack()), w.n.core.port, w.n.address);
    await new Promise((r) => setTimeout(r, 50));
    assert.is(answers[1]?.status, 403);
    assert.match(answers[1]?.headers.get('warning') ?? '', /only through a P-CSCF of the trust domain/);
    // Trusted as a P-CSCF, the same REGISTER (a new transaction) reaches the IMPU check.
    w.n.core.trustProxy(w.n.address, sock.port);
    sock.send(serializeSipMessage(hijack()), w.n.core.port, w.n.address);
    await new Promise((r) => setTimeout(r, 50));
    assert.is(answers[2]?.status, 403);
    assert.match(answers[2]?.headers.get('warning') ?? '', /does not belong/);
    assert.is(w.n.core.scscf.outstanding(), nonces, 'no challenge issued');
  } finally {
    w.n.close();
  }
});

/** A hand-built initial REGISTER for `impi` from `address`:`port`, as an attacker would send it. */
function sm1(w: { n: ImsNetwork }, impi: string, address: string, port: number, i: number): SipRequest {
  const user = impi.split('@')[0]!;
  // In a mode this P-CSCF carries (UDP-enc-tun), so that it gets as far as a real UE's would.
  const sc = formatIpsec3gpp({ alg: 'hmac-sha-1-96', ealg: 'aes-cbc', spiC: 4000 + 2 * i, spiS: 4001 + 2 * i, portC: 40000 + i, portS: 40999, mod: 'UDP-enc-tun' });
  return makeRequest({
    method: 'REGISTER', uri: `sip:${w.n.realm}`, from: `<sip:${impi}>;tag=${newTag()}`, to: `<sip:${impi}>`, callId: `spoof-${i}@${address}`, cseq: 1,
    via: `SIP/2.0/UDP ${address}:${port};branch=${newBranch()}`,
    headers: [
      ['Authorization', initialAuthorization({ username: impi, realm: w.n.realm, uri: `sip:${w.n.realm}` })],
      ['Contact', `<sip:${user}@${address}:40999>;expires=600`], ['Require', 'sec-agree'], ['Proxy-Require', 'sec-agree'], ['Security-Client', sc],
    ],
  });
}

test('a spoofed initial REGISTER for bob\'s IMPI, sent while bob registers, does not cancel bob\'s registration', async () => {
  const net = new MemoryNetwork();
  const toCore: SipRequest[] = [];
  const n = await startNetwork({ net, address: '192.0.2.1', timers: FAST, onTrace: (e) => { if (e.to === 'core' && e.message.type === 'request') toCore.push(e.message); } });
  try {
    const bob = await n.ue({ user: 'bob', release: 6, accessNetwork: 'lte' });
    const attacker = await net.bind('198.51.100.66', 5060);
    const answers: number[] = [];
    attacker.onMessage((d) => { const m = parseSipMessage(d.data); if (m.type === 'response') answers.push(m.status); });
    const impi = `bob@${n.realm}`;
    let sent = 0;
    n.pcscf.events.challenged = (e) => {
      // bob's 401 is on its way: the attacker sends SM1s for bob's IMPI from another address (and one more
      // later, while bob's protected REGISTER is at the core).
      if (e.key !== impi || sent > 0) return;
      for (let i = 0; i < 2; i++) attacker.send(serializeSipMessage(sm1({ n }, impi, '198.51.100.66', 5060, sent++)), n.pcscf.port, n.address);
    };
    const r = await bob.register();
    assert.is(sent, 2);
    assert.is(r.status, 200, `bob registered (${r.detail ?? ''})`);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(answers.filter((s) => s !== 401), [], 'the spoofed SM1s were challenged like any other');
    // bob authenticated: his set is the registration's; the attacker's attempts are gone with their temporary sets.
    assert.is(n.pcscf.sec.attempts(impi).length, 0);
    assert.equal(n.pcscf.db.sets(impi).map((s) => s.state), ['established']);
    assert.is(n.pcscf.sec.current(impi), bob.current ? n.pcscf.db.bySpi(bob.current.pcscf.spiS)!.set : undefined);
  } finally {
    n.close();
  }
});

test('registration attempts per IMPI are bounded (503 past the bound, nothing displaced); the per-IMPI rate limit holds across many addresses', async () => {
  const net = new MemoryNetwork();
  const n = await startNetwork({ net, address: '192.0.2.1', timers: FAST });
  try {
    const impi = `bob@${n.realm}`;
    const bob = await n.ue({ user: 'bob', release: 6, accessNetwork: 'lte' }); // known to the HSS, not yet registered
    const statuses: number[] = [];
    const warnings: string[] = [];
    // 200 source addresses x 1 SM1 for one IMPI (the per-address limit never triggers).
    for (let i = 0; i < 200; i++) {
      const addr = `198.51.100.${(i % 250) + 1}`;
      const s = await net.bind(addr, 5060 + Math.floor(i / 250));
      s.onMessage((d) => { const m = parseSipMessage(d.data); if (m.type === 'response') { statuses.push(m.status); warnings.push(m.headers.get('warning') ?? ''); } });
      s.send(serializeSipMessage(sm1({ n }, impi, addr, s.port, i)), n.pcscf.port, n.address);
    }
    await new Promise((res) => setTimeout(res, 300));
    assert.is(statuses.length, 200, JSON.stringify(statuses));
    const challenged = statuses.filter((s) => s === 401).length;
    assert.ok(challenged >= 1 && challenged <= 4, `at most 4 attempts challenged (got ${challenged})`);
    assert.is(statuses.filter((s) => s === 503).length, 200 - challenged);
    assert.ok(warnings.some((x) => /for this identity/.test(x)), 'the per-IMPI rate limit answered');
    assert.ok(n.pcscf.sec.attempts(impi).length <= 4);
    assert.ok(n.core.scscf.outstanding(impi) <= 8, 'the S-CSCF keeps a bounded number of nonces for the IMPI');
    // The real bob still registers once the burst is over (his attempts are his own, the attacker's expire).
    n.pcscf.sec.attempts(impi).forEach((a) => n.pcscf.sec.failed(a));
    await new Promise((res) => setTimeout(res, 600)); // the per-IMPI bucket refills (2/s)
    assert.is((await bob.register()).status, 200);
  } finally {
    n.close();
  }
});

test('S-CSCF nonce table: one IMPI cannot push out other subscribers\' nonces', () => {
  const hss = new Hss();
  const { k, op } = demoKeys();
  for (const impi of ['victim@x', 'attacker@x']) hss.addSubscriber({ impi, k, op });
  const s = new AkaDigestServer({ realm: 'x', hss, maxNonces: 1000 });
  const honest = s.challenge('victim@x');
  for (let i = 0; i < 2000; i++) s.challenge('attacker@x');
  // The victim's nonce is still live (not stale): a wrong response is a failure, not "stale".
  const v = s.verify({ authorization: `Digest username="victim@x",realm="x",nonce="${honest.nonce}",uri="sip:x",response="${'0'.repeat(32)}",algorithm=AKAv1-MD5`, method: 'REGISTER' });
  assert.is(v.result, 'fail');
  assert.is(s.outstanding('attacker@x'), 8);
  assert.is(s.outstanding('victim@x'), 1);
  assert.is(s.outstanding(), 9);
  hss.remove('victim@x');
  hss.remove('attacker@x');
});

test('Max-Forwards that is not 0..255 is answered 400 and forwarded nowhere', async () => {
  const w = await world();
  try {
    for (const bad of ['abc', '-1', '256', '1e2', '']) {
      const n = forwarded(w, 'PUBLISH').length;
      const req = request(w, w.alice, { method: 'PUBLISH', uri: w.uri('alice'), from: w.uri('alice'), to: w.uri('alice'), headers: [['Event', 'presence']], body: buildPidf({ entity: w.uri('alice'), basic: 'open' }) });
      req.headers.set('Max-Forwards', bad);
      const res = await overSa1(w.alice, req);
      assert.is(res.status, 400, JSON.stringify(bad));
      assert.is(forwarded(w, 'PUBLISH').length, n, JSON.stringify(bad));
    }
    const ok = request(w, w.alice, { method: 'PUBLISH', uri: w.uri('alice'), from: w.uri('alice'), to: w.uri('alice'), headers: [['Event', 'presence']], body: buildPidf({ entity: w.uri('alice'), basic: 'open' }) });
    ok.headers.set('Max-Forwards', '255');
    assert.is((await overSa1(w.alice, ok)).status, 200);
    assert.is(forwarded(w, 'PUBLISH').at(-1)!.headers.get('max-forwards'), '254');
  } finally {
    w.n.close();
  }
});

test.run();
