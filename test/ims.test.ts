// The main job end to end over real UDP sockets on 127.0.0.1 (TS 33.203 registration with IMS AKA and the
// ipsec-3gpp agreement, then presence over ESP): every alg/ealg combination and every policy, the failure
// paths (wrong subscriber key, wrong RES, tampered Security-Verify, a replayed ESP packet, re-registration
// with a challenge, de-registration, a lost datagram), and the pcap export read back (and, when tshark is
// installed, decrypted by Wireshark's ESP dissector).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allCombinations, initSync, parseIp, parseUdp, releaseCombinations } from '../src/index.js';
import { capturePcap, espSaLines, keyRecords } from '../src/ims/capture.js';
import { buildPidf } from '../src/ims/pidf.js';
import { demoKeys, runScenario, startNetwork } from '../src/ims/scenario.js';
import { NodeUdpNetwork } from '../src/net/node-udp.js';
import { readPcap } from '../src/pcap.js';

initSync();

const FAST = { t1: 25, t2: 100, t4: 200 };

test('every alg/ealg combination: both UEs register, presence flows, every UE <-> P-CSCF message after the 401 is ESP', async () => {
  for (const combo of allCombinations()) {
    const r = await runScenario({
      net: new NodeUdpNetwork(), notifies: 2,
      presentity: { user: 'alice', release: 'later', accessNetwork: 'lte', algorithms: [combo] },
      watcher: { user: 'bob', release: 'later', accessNetwork: 'lte', algorithms: [combo] },
    });
    const at = `${combo.alg}/${combo.ealg}`;
    assert.equal(r.ues.map((u) => [u.registration.status, u.alg, u.ealg]), [[200, combo.alg, combo.ealg], [200, combo.alg, combo.ealg]], at);
    // Default presence rules: the location only to a watcher with confidentiality (its ESP encryption here).
    assert.equal(r.received, combo.ealg === 'null' ? r.published.map(() => undefined) : r.published, at);
    // After the 401s, nothing between a UE and the P-CSCF travels without ESP.
    const ueMsgs = r.trace.filter((e) => e.from.startsWith('UE') || e.to.startsWith('UE'));
    const clear = ueMsgs.filter((e) => !e.sa).map((e) => (e.message.type === 'request' ? e.message.method : e.message.status));
    assert.equal(clear, ['REGISTER', 401, 'REGISTER', 401], `${at}: only SM1 and SM6 are in clear`);
    assert.is(r.stats.retransmissions, 0);
    assert.equal(r.stats.dropped, {});
  }
});

test('every policy: mode x UE release gives encryption, integrity only, or a clear refusal', async () => {
  const expected: Record<string, string> = {
    'ipsec/5': 'integrity', 'ipsec/6': 'encrypted', 'ipsec/later': 'encrypted',
    'access-network/5': 'integrity', 'access-network/6': 'integrity', 'access-network/later': 'integrity',
    'refuse/5': '403', 'refuse/6': 'encrypted', 'refuse/later': 'encrypted',
  };
  for (const mode of ['ipsec', 'access-network', 'refuse'] as const) {
    for (const release of [5, 6, 'later'] as const) {
      const r = await runScenario({
        net: new NodeUdpNetwork(), notifies: 1,
        policy: { defaultMode: 'ipsec', accessNetworks: { 'IEEE-802.11': mode } },
        presentity: { user: 'alice', release, accessNetwork: 'IEEE-802.11' },
        watcher: { user: 'bob', release: 6, accessNetwork: '3GPP-E-UTRAN-FDD' },
      });
      const u = r.ues[0]!;
      const got = u.registration.status !== 200 ? String(u.registration.status) : u.ealg === 'null' ? 'integrity' : 'encrypted';
      assert.is(got, expected[`${mode}/${release}`], `${mode}/${release}`);
      assert.is(u.mode, mode);
      if (got === '403') {
        assert.match(u.registration.detail ?? '', /confidentiality protection required/, 'a clear reason');
        assert.is(r.received.length, 0, 'no presence service');
      } else {
        assert.equal(r.received, r.published);
      }
    }
  }
});

test('wrong subscriber key: the UE detects the MAC failure, answers with an empty response, gets 403, no SA', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST });
  let reason = '';
  n.core.events.authFailed = (e) => { reason = e.reason; };
  try {
    const ue = await n.ue({ user: 'mallory', release: 6, accessNetwork: 'lte', wrongKey: true });
    const r = await ue.register();
    assert.is(r.status, 403);
    assert.match(r.detail ?? '', /MAC failure/);
    assert.match(reason, /MAC failure/);
    assert.is(ue.db.size, 0);
    assert.is(n.pcscf.db.size, 0, 'the P-CSCF deleted its temporary set');
  } finally {
    n.close();
  }
});

test('wrong RES: the S-CSCF answers 403 to the protected REGISTER; the temporary sets go', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST });
  try {
    const ue = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte', faults: { wrongRes: true } });
    const r = await ue.register();
    assert.is(r.status, 403);
    assert.match(r.detail ?? '', /wrong-response/);
    assert.is(ue.db.size, 0);
    assert.is(n.pcscf.db.size, 0);
  } finally {
    n.close();
  }
});

test('tampered Security-Verify (bidding down): the P-CSCF aborts with 494, forwards nothing, deletes the set', async () => {
  // T1 = 250 ms, not FAST's 25: the retransmission count below must not count a loaded machine's slowness.
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: { t1: 250, t2: 1000, t4: 1000 } });
  const aborted: string[] = [];
  n.pcscf.events.aborted = (e) => aborted.push(e.reason);
  try {
    const weaken = (values: string[]): string[] => values.map((v) => v.replace(/ealg=aes-cbc/g, 'ealg=null'));
    const ue = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte', faults: { securityVerify: weaken } });
    const registersToCore = (): number => n.trace.filter((e) => e.to === 'core' && e.message.type === 'request').length;
    const r = await ue.register();
    assert.is(r.status, 494, 'the UE is told at once (RFC 3329 2.3.1), not left to time out');
    assert.match(r.detail ?? '', /Security-Verify differs/);
    const answer = n.trace.filter((e) => e.from === 'P-CSCF' && e.to === 'UE alice' && e.message.type === 'response').pop()!;
    assert.ok(answer.sa, 'the 494 went over the temporary set, before it was deleted');
    assert.equal(answer.message.headers.values('require'), ['sec-agree']);
    assert.is(aborted.length, 1);
    assert.match(aborted[0]!, /Security-Verify differs/);
    assert.is(registersToCore(), 1, 'only SM2 reached the core');
    assert.is(n.pcscf.db.size, 0);
    assert.is(ue.db.size, 0);
    assert.is(ue.node.tx.retransmissions, 0, 'the protected REGISTER was answered at the first try');
  } finally {
    n.close();
  }
});

test('a replayed ESP packet on the wire is dropped and counted; the genuine traffic goes on', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork() });
  try {
    const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    assert.is((await alice.register()).status, 200);
    const set = alice.current!;
    // Record alice's next protected datagram and send it again from her own port.
    const before = n.wire.length;
    assert.is((await alice.publish(buildPidf({ entity: `sip:alice@${n.realm}`, basic: 'open' }))).status, 200);
    // UDP-enc-tun: ESP in UDP from the UE's encapsulation port to the P-CSCF's, SA1's SPI first.
    const spi1 = set.sa('SA1').spi;
    const pkt = n.wire.slice(before).find((w) => w.srcPort === alice.encapPort && w.dstPort === n.pcscf.encapPort && new DataView(w.data.buffer, w.data.byteOffset).getUint32(0) === spi1)!;
    assert.ok(pkt, 'the PUBLISH left the encapsulation port as ESP over SA1');
    const dropsBefore = n.pcscf.wire.counters.dropped['esp-replay'];
    const receivedBefore = n.pcscf.portS.stats.received;
    // Resend it from the UE's address, so that the SA's selectors match and only the replay window can refuse it.
    const replayer = await new NodeUdpNetwork().bind('127.0.0.1', 0);
    replayer.send(pkt.data, pkt.dstPort, pkt.dstAddress);
    await new Promise((resolve) => setTimeout(resolve, 50));
    replayer.close();
    assert.is(n.pcscf.portS.stats.received, receivedBefore, 'not delivered');
    assert.is(n.pcscf.wire.counters.dropped['esp-replay'], dropsBefore + 1);
    assert.is(n.pcscf.wire.encapPeer(n.pcscf.sec.current(`alice@${n.realm}`)!).port, alice.encapPort, 'a refused packet teaches the P-CSCF no new port');
    assert.is((await alice.publish(buildPidf({ entity: `sip:alice@${n.realm}`, basic: 'open' }))).status, 200, 'later traffic still accepted');
  } finally {
    n.close();
  }
});

test('re-registration with a challenge: a new set; the old one is deleted after the peer first uses the new one', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork() });
  try {
    const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    const first = await alice.register();
    const oldUe = first.set!;
    const oldPc = n.pcscf.sec.current(`alice@${n.realm}`)!;
    // Without a challenge: the same set.
    assert.is((await alice.reRegister()).set, oldUe);
    // With a challenge.
    n.core.requireReauthentication(`sip:alice@${n.realm}`);
    const second = await alice.reRegister();
    assert.is(second.status, 200);
    assert.is.not(second.set, oldUe);
    assert.is.not(second.set!.ue.portC, oldUe.ue.portC, 'fresh port_uc');
    assert.is(second.set!.ue.portS, oldUe.ue.portS, 'port_us kept');
    // The UE got the 200 on the new set: its old set is gone. The P-CSCF keeps its old set until the UE
    // sends over the new one after the 200 (a request sent over the old set just before may be in flight).
    assert.is(oldUe.state, 'deleted');
    assert.is(oldPc.state, 'old');
    assert.is((await alice.publish(buildPidf({ entity: `sip:alice@${n.realm}`, basic: 'open' }))).status, 200);
    assert.is(oldPc.state, 'deleted');
  } finally {
    n.close();
  }
});

test('de-registration: the 200 OK comes back protected, then the SAs are gone on both sides', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST });
  try {
    const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    await alice.register();
    const r = await alice.deregister();
    assert.is(r.status, 200);
    const last200 = n.trace.filter((e) => e.to === 'UE alice' && e.message.type === 'response').pop()!;
    assert.ok(last200.sa, 'the 200 OK to the de-REGISTER was ESP-protected');
    assert.is(last200.sa!.name, 'SA3');
    assert.is(alice.db.size, 0);
    assert.is(n.core.registrations.size, 0);
    // The P-CSCF keeps the ended registration's set for the UE's retransmissions (64*T1), then it goes.
    assert.is(n.pcscf.db.size, 1);
    assert.is(n.pcscf.identities(`alice@${n.realm}`).length, 0, 'nothing is asserted for it any more');
    for (let i = 0; i < 40 && n.pcscf.db.size > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.is(n.pcscf.db.size, 0);
  } finally {
    n.close();
  }
});

test('a lost UDP datagram is retransmitted (Timer E) and the registration completes', async () => {
  const net = new NodeUdpNetwork();
  const n = await startNetwork({ net, timers: FAST });
  try {
    let dropped = 0;
    net.drop = (w) => {
      // Lose the first protected REGISTER (SM7) and the first 200 OK toward the UE.
      const text = new TextDecoder('latin1').decode(w.data);
      const esp = w.dstPort === n.pcscf.encapPort;
      if (dropped === 0 && esp) { dropped++; return true; }
      if (dropped === 1 && text.startsWith('SIP/2.0 200') && w.srcPort === n.core.port) { dropped++; return true; }
      return false;
    };
    const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    const r = await alice.register();
    assert.is(r.status, 200);
    assert.is(dropped, 2);
    assert.ok(alice.node.tx.retransmissions >= 1, 'the UE retransmitted SM7');
  } finally {
    n.close();
  }
});

test('pcap export: every frame exactly as sent (ESP in UDP between the encapsulation ports), checksums right; keys as esp_sa lines and JSON', async () => {
  const r = await runScenario({ net: new NodeUdpNetwork(), notifies: 1, exportKeys: true });
  const keys = keyRecords(r.sets);
  assert.is(keys.length, 8);
  const spis = new Set(keys.map((k) => k.spi));
  const records = readPcap(capturePcap(r.wire, spis));
  assert.is(records.length, r.wire.length);
  const encapPorts = new Set<number>();
  let esp = 0;
  records.forEach((rec, i) => {
    const ip = parseIp(rec.packet);
    const w = r.wire[i]!;
    assert.is(ip.protocol, 17, 'UDP-enc-tun: nothing on the wire is bare ESP');
    const u = parseUdp(ip.payload, ip.src, ip.dst);
    assert.is(u.srcPort, w.srcPort);
    assert.is(u.dstPort, w.dstPort);
    assert.is(Buffer.from(u.payload).toString('hex'), Buffer.from(w.data).toString('hex'), 'the payload octet for octet');
    if (u.payload.length >= 8 && spis.has(new DataView(u.payload.buffer, u.payload.byteOffset).getUint32(0))) {
      esp++;
      encapPorts.add(u.dstPort);
    }
  });
  assert.ok(esp > 0);
  assert.is(esp, r.stats.protectedDatagrams);
  const lines = espSaLines(keys).trim().split('\n');
  assert.is(lines.length, 8);
  assert.match(lines[0]!, /^"IPv4","127\.0\.0\.1","127\.0\.0\.1","0x[0-9a-f]{8}","AES-CBC \[RFC3602\]","0x[0-9a-f]{32}","HMAC-SHA-1-96 \[RFC2404\]","0x[0-9a-f]{40}"$/);
  assert.ok(keys.every((k) => k.encAlg === 'aes-cbc' && k.encKey.length === 32 && k.authKey.length === 40));

  // An outside view: Wireshark's UDPENCAP and ESP dissectors decrypt, check and dissect every protected
  // frame down to the inner IPv4/UDP/SIP of the tunnel.
  if (spawnSync('tshark', ['--version']).status === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'ipsec3gpp-'));
    mkdirSync(join(dir, 'wireshark'), { recursive: true });
    writeFileSync(join(dir, 'wireshark', 'esp_sa'), espSaLines(keys));
    writeFileSync(join(dir, 'capture.pcap'), capturePcap(r.wire, spis));
    const decodeAs = [...encapPorts].flatMap((p) => ['-d', `udp.port==${p},udpencap`]);
    const run = (filter: string): number => spawnSync('tshark', ['-r', join(dir, 'capture.pcap'), ...decodeAs, '-o', 'esp.enable_encryption_decode:TRUE', '-o', 'esp.enable_authentication_check:TRUE', '-Y', filter], { env: { ...process.env, XDG_CONFIG_HOME: dir }, encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).length;
    assert.is(run('esp'), esp);
    assert.is(run('esp && sip && count(ip) == 2'), esp, 'every ESP frame decrypts to an inner IPv4 packet with SIP (tunnel mode)');
    assert.is(run('esp.icv_good == 1'), esp, 'every ICV verifies in Wireshark');
  }
});

test('Release 5 UE (integrity only) next to a Release 6 UE on the same P-CSCF: the integrity-only watcher gets presence without the location', async () => {
  const r = await runScenario({
    net: new NodeUdpNetwork(), notifies: 1,
    presentity: { user: 'alice', release: 6, accessNetwork: 'lte' },
    watcher: { user: 'bob', release: 5, accessNetwork: 'lte', algorithms: releaseCombinations(5) },
  });
  assert.is(r.ues[0]!.ealg, 'aes-cbc');
  assert.is(r.ues[1]!.ealg, 'null');
  assert.is(r.received.length, 1);
  assert.is(r.received[0], undefined);
  assert.is(r.published.length, 1);
});

test('an implicit registration set expires as a whole: every public identity of the IMPI goes with the last contact', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST, autoRefresh: false });
  try {
    const impus = [`sip:dave@${n.realm}`, 'tel:+33123456789'];
    n.hss.addSubscriber({ impi: `dave@${n.realm}`, ...demoKeys(), impus });
    const dave = await n.ue({ user: 'dave', release: 6, accessNetwork: 'lte' });
    assert.is((await dave.register()).status, 200);
    assert.equal([...n.core.registrations.keys()].sort(), ['sip:dave@' + n.realm, 'tel:+33123456789'].sort(), 'both identities registered');
    n.core.prune(Date.now() + 48 * 3600 * 1000); // past every binding's expiry
    assert.equal([...n.core.registrations.keys()], [], 'no identity of the set is left registered');
  } finally {
    n.close();
  }
});

test.run();
