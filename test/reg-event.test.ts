// What keeps a UE registered without its application doing anything (issue 16, items 6, 7, 8): the reg
// event package (RFC 3680; TS 24.229 5.1.1.3 for the UE, 5.2.3 for the P-CSCF, 5.4.2 for the S-CSCF) with
// network-initiated de-registration (5.1.1.7, 5.4.1.5) and re-authentication (5.1.1.6, 5.4.1.6); automatic
// refresh of the registration and of SUBSCRIBE dialogs (5.1.1.4.1); a new registration when an SA nears
// its sequence-number limit; and recovery when the P-CSCF loses the SAs (as after a restart). Over real UDP.
// Waits are bounded ("within N ms") and assert what happened, not how fast.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initSync } from '../src/index.js';
import { buildReginfo, identityKey, parseReginfo, refreshDelaySeconds, startNetwork, type UeClient } from '../src/ims/index.js';
import { NodeUdpNetwork } from '../src/node.js';

initSync();

const FAST = { t1: 25, t2: 100, t4: 200 };

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function log(ue: UeClient): string[] {
  const out: string[] = [];
  ue.events.registered = (set) => out.push(`registered ${set.id}`);
  ue.events.deregistered = (r) => out.push(`deregistered ${r.by} ${r.reason}`);
  ue.events.refreshFailed = (r) => out.push(`failed ${r.what}: ${r.detail}`);
  return out;
}

test('reginfo: built and read back; refused when it is not reginfo', () => {
  const doc = buildReginfo({ version: 3, state: 'full', registrations: [{ aor: 'sip:a@x', id: 'r1', state: 'active', contacts: [{ id: 'c1', uri: 'sip:a@[2001:db8::1]:5064', state: 'active', event: 'shortened', expires: 60 }] }] });
  const back = parseReginfo(doc);
  assert.equal(back, { version: 3, state: 'full', registrations: [{ aor: 'sip:a@x', id: 'r1', state: 'active', contacts: [{ id: 'c1', uri: 'sip:a@[2001:db8::1]:5064', state: 'active', event: 'shortened', expires: 60 }] }] });
  // As a real S-CSCF writes it: another prefix, extra elements and attributes that RFC 3680 says to ignore.
  const foreign = `<?xml version="1.0"?><r:reginfo xmlns:r="urn:ietf:params:xml:ns:reginfo" xmlns:gr="urn:ietf:params:xml:ns:gruuinfo" version="0" state="full"><r:registration aor="sip:a@x" id="a7" state="terminated"><r:contact id="z" state="terminated" event="deactivated" duration-registered="10"><r:uri>sip:a@192.0.2.5:5064</r:uri><gr:pub-gruu uri="sip:a@x;gr=1"/></r:contact></r:registration></r:reginfo>`;
  assert.equal(parseReginfo(foreign).registrations[0]!.contacts[0]!.event, 'deactivated');
  for (const bad of ['<reginfo version="0" state="full"/>', '<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="x" state="full"/>', '<!DOCTYPE r><reginfo/>']) {
    let code: string | undefined;
    try { parseReginfo(bad); } catch (e) { code = (e as { code?: string }).code; }
    assert.ok(code === 'REGINFO_INVALID' || code === 'XML_MALFORMED', bad);
  }
  assert.is(refreshDelaySeconds(600), 300);
  assert.is(refreshDelaySeconds(7200), 6600);
});

test('after registering, the UE and its P-CSCF watch the registration; a network-initiated de-registration ("rejected") ends it on both', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST });
  try {
    const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    const events = log(alice);
    assert.is((await alice.register()).status, 200);
    const aor = identityKey(`sip:alice@${n.realm}`);
    await until('two reg watchers', () => n.core.reg.watchers(aor).length === 2);
    assert.equal(n.core.reg.watchers(aor).sort(), [aor, `sip:pcscf@127.0.0.1:${n.pcscf.coreSocket.port}`].sort());
    n.core.deregisterByNetwork(`sip:alice@${n.realm}`, 'rejected');
    await until('the UE hears of it', () => !alice.registered);
    assert.equal(events.filter((e) => e.startsWith('deregistered')), ['deregistered network rejected']);
    assert.is(alice.db.size, 0);
    await until('the P-CSCF sets go', () => n.pcscf.db.size === 0);
    assert.is(n.core.registrations.size, 0);
    assert.is(n.core.reg.size, 0, 'the reg subscriptions ended with the registration');
    await new Promise((r) => setTimeout(r, 300));
    assert.not.ok(alice.registered, '"rejected": the UE does not register again by itself');
  } finally {
    n.close();
  }
});

test('network-initiated de-registration "deactivated": the UE registers again by itself, with new SAs', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST });
  try {
    const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    const events = log(alice);
    const first = (await alice.register()).set!;
    await until('watchers', () => n.core.reg.watchers(identityKey(`sip:alice@${n.realm}`)).length === 2);
    n.core.deregisterByNetwork(`sip:alice@${n.realm}`);
    await until('registered again', () => alice.registered && alice.current !== first);
    assert.match(events[0]!, /^registered /);
    assert.match(events[1]!, /^deregistered network deactivated/);
    assert.match(events[2]!, /^registered /);
    assert.is.not(alice.current!.pcscf.spiS, first.pcscf.spiS);
    assert.is(first.state, 'deleted');
    assert.ok(n.core.registrations.has(identityKey(`sip:alice@${n.realm}`)));
  } finally {
    n.close();
  }
});

test('network-initiated re-authentication: contacts shortened, the UE re-registers at once, is challenged, gets new SAs', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST });
  try {
    const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    const first = (await alice.register()).set!;
    await until('watchers', () => n.core.reg.watchers(identityKey(`sip:alice@${n.realm}`)).length === 2);
    let challenged = 0;
    n.pcscf.events.challenged = () => { challenged++; };
    n.core.reauthenticate(`sip:alice@${n.realm}`, 30);
    await until('new set', () => alice.current !== undefined && alice.current !== first);
    assert.is(challenged, 1, 'the re-registration was challenged (new AKA run)');
    assert.ok((alice.current!.expiresAt - Date.now()) / 1000 > 500, 'and the new registration has its full lifetime again');
  } finally {
    n.close();
  }
});

test('automatic refresh: a 4 s registration is refreshed at half time; the presence subscription inside its dialog', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST });
  try {
    const impu = `sip:bob@${n.realm}`;
    n.hss.addSubscriber({ impi: `bob@${n.realm}`, ...(await import('../src/ims/index.js')).demoKeys() });
    const { UeClient, demoKeys } = await import('../src/ims/index.js');
    const bob = await UeClient.start({ net: new NodeUdpNetwork(), address: '127.0.0.1', impi: `bob@${n.realm}`, impu, realm: n.realm, ...demoKeys(), pcscf: { address: '127.0.0.1', port: n.pcscf.port, encapPort: n.pcscf.encapPort! }, release: 6, expires: 4, timers: FAST });
    const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    try {
      let registers = 0;
      n.core.events.registered = (r) => { if (r.impu === identityKey(impu)) registers++; };
      assert.is((await bob.register()).status, 200);
      assert.is((await alice.register()).status, 200);
      const first = new Promise<void>((r) => { bob.onNotify = () => r(); });
      assert.is((await bob.subscribe(`sip:alice@${n.realm}`, 4)).status, 200);
      await first;
      const sub = [...n.core.subscriptions.values()].find((s) => s.watcher === identityKey(impu))!;
      const expiresAt = sub.expiresAt;
      await until('bob re-registered by himself', () => registers >= 2, 6000);
      await until('the subscription refreshed in its dialog', () => sub.expiresAt > expiresAt, 6000);
      assert.is([...n.core.subscriptions.values()].filter((s) => s.watcher === identityKey(impu)).length, 1, 'the same subscription, not a new one');
      assert.ok(bob.registered);
    } finally {
      bob.close();
    }
  } finally {
    n.close();
  }
});

test('ESP soft limit: when an outbound SA nears its limit the UE registers anew (new keys) and goes on', async () => {
  const { UeClient, demoKeys } = await import('../src/ims/index.js');
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST });
  try {
    n.hss.addSubscriber({ impi: `carol@${n.realm}`, ...demoKeys() });
    const carol = await UeClient.start({ net: new NodeUdpNetwork(), address: '127.0.0.1', impi: `carol@${n.realm}`, impu: `sip:carol@${n.realm}`, realm: n.realm, ...demoKeys(), pcscf: { address: '127.0.0.1', port: n.pcscf.port, encapPort: n.pcscf.encapPort! }, release: 6, timers: FAST, softLimit: 6 });
    try {
      const first = (await carol.register()).set!;
      const doc = `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:carol@${n.realm}"/>`;
      for (let i = 0; i < 6; i++) assert.is((await carol.publish(doc)).status, 200);
      await until('a new set', () => carol.current !== undefined && carol.current !== first);
      assert.is.not(carol.current!.ue.spiC, first.ue.spiC);
      assert.is((await carol.publish(doc)).status, 200, 'and traffic goes on over the new SAs');
    } finally {
      carol.close();
    }
  } finally {
    n.close();
  }
});

test('keep-alive: OPTIONS to the P-CSCF itself over the SAs, answered there; a NOTIFY in clear cannot end the registration', async () => {
  const { UeClient, demoKeys, buildReginfo } = await import('../src/ims/index.js');
  const { makeRequest, newBranch } = await import('../src/ims/sip-node.js');
  const { serializeSipMessage } = await import('../src/sip/message.js');
  const toCore: string[] = [];
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST, onTrace: (e) => { if (e.to === 'core' && e.message.type === 'request') toCore.push(e.message.method); } });
  try {
    n.hss.addSubscriber({ impi: `dave@${n.realm}`, ...demoKeys() });
    const net = new NodeUdpNetwork();
    const dave = await UeClient.start({ net, address: '127.0.0.1', impi: `dave@${n.realm}`, impu: `sip:dave@${n.realm}`, realm: n.realm, ...demoKeys(), pcscf: { address: '127.0.0.1', port: n.pcscf.port, encapPort: n.pcscf.encapPort! }, release: 6, timers: FAST, keepAliveMs: 50, keepAliveTimeoutMs: 400 });
    try {
      const events = log(dave);
      const set = (await dave.register()).set!;
      await new Promise((r) => setTimeout(r, 600));
      assert.ok(dave.portS.stats.received + (dave.protectedPort(set.ue.portC)?.stats.received ?? 0) > 5, 'keep-alive answers came back over the SAs');
      assert.not.ok(toCore.includes('OPTIONS'), 'the core never saw a keep-alive');
      assert.equal(events.filter((e) => !e.startsWith('registered')), []);
      assert.is(dave.current, set);
      // A forged reg-event NOTIFY ("terminated") in clear to the UE's unprotected port is dropped.
      const sock = await net.bind('127.0.0.1', 0);
      const body = buildReginfo({ version: 9, state: 'full', registrations: [{ aor: `sip:dave@${n.realm}`, id: 'x', state: 'terminated', contacts: [{ id: 'c', uri: `sip:dave@127.0.0.1:${dave.portS.port}`, state: 'terminated', event: 'rejected' }] }] });
      sock.send(serializeSipMessage(makeRequest({
        method: 'NOTIFY', uri: `sip:dave@127.0.0.1:${dave.unprotected.port}`, from: `<sip:dave@${n.realm}>;tag=x`, to: `<sip:dave@${n.realm}>;tag=y`, callId: 'forged@x', cseq: 2,
        via: `SIP/2.0/UDP 127.0.0.1:${sock.port};branch=${newBranch()}`, headers: [['Event', 'reg'], ['Subscription-State', 'terminated']],
        body: { type: 'application/reginfo+xml', data: body },
      })), dave.unprotected.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 200));
      sock.close();
      assert.ok(dave.registered, 'still registered');
    } finally {
      dave.close();
    }
  } finally {
    n.close();
  }
});

test('a P-CSCF that lost its SAs (as after a restart): the keep-alive finds out, the UE registers and re-subscribes by itself', async () => {
  const { UeClient, demoKeys } = await import('../src/ims/index.js');
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST });
  try {
    const ue = async (user: string): Promise<UeClient> => {
      n.hss.addSubscriber({ impi: `${user}@${n.realm}`, ...demoKeys() });
      return UeClient.start({ net: new NodeUdpNetwork(), address: '127.0.0.1', impi: `${user}@${n.realm}`, impu: `sip:${user}@${n.realm}`, realm: n.realm, ...demoKeys(), pcscf: { address: '127.0.0.1', port: n.pcscf.port, encapPort: n.pcscf.encapPort! }, release: 6, timers: FAST, keepAliveMs: 200, keepAliveTimeoutMs: 300 });
    };
    const bob = await ue('bob');
    const alice = await ue('alice');
    try {
      const events = log(bob);
      assert.is((await bob.register()).status, 200);
      assert.is((await alice.register()).status, 200);
      assert.is((await bob.subscribe(`sip:alice@${n.realm}`)).status, 200);
      const before = bob.current!;
      const aliceBefore = alice.current!;
      n.pcscf.db.clear(); // every SA set gone, as in a P-CSCF that restarted without its state
      n.core.subscriptions.clear();
      await until('bob registered again', () => bob.registered && bob.current !== before, 5000);
      assert.ok(events.some((e) => e.startsWith('deregistered lost')), events.join('; '));
      await until('and re-subscribed to alice', () => [...n.core.subscriptions.values()].some((s) => s.watcher === identityKey(`sip:bob@${n.realm}`) && s.presentity === identityKey(`sip:alice@${n.realm}`)));
      // (Registered with a new set: until her keep-alive finds out, alice is still registered on the old one,
      // whose SAs the P-CSCF no longer has, and a PUBLISH over them would go unanswered.)
      await until('alice registered again too', () => alice.registered && alice.current !== aliceBefore, 5000);
      const got = new Promise<string>((r) => { bob.onNotify = (x) => { if (x.body.includes('after the restart')) r(x.body); }; });
      assert.is((await alice.publish(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@${n.realm}"><tuple id="t"><status><basic>open</basic></status><note>after the restart</note></tuple></presence>`)).status, 200);
      assert.match(await got, /after the restart/);
    } finally {
      bob.close();
      alice.close();
    }
  } finally {
    n.close();
  }
});

test.run();
