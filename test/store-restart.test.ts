// A P-CSCF restart with a store (issue 19), end to end over real UDP: a UE registered through
// `ipsec-3gpp pcscf --store sqlite:FILE` (and redis://) before the P-CSCF stops without warning sends its
// next requests over its existing SAs to the restarted P-CSCF and gets answers, with no re-registration;
// the ESP sequence numbers the P-CSCF sends on each SPI, captured on the UE's socket, never repeat across
// the restart. Two instances on one Redis: the second waits (standby) until the first is gone, takes over
// its address and ports and serves the registration made through the first.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { initSync } from '../src/index.js';
import { startPcscf, type RunningPcscf } from '../src/cli/pcscf.js';
import { UeClient, demoKeys } from '../src/ims/index.js';
import { NodeUdpNetwork } from '../src/net/node-udp.js';
import { openStore } from '../src/store/open.js';
import { freePort, haveRedis, startRedis, tapEspSeqs, tempDir, type RedisServer } from './store-servers.js';

initSync();

const REALM = 'ims.example.org';
const KEK = { IPSEC3GPP_KEK: '5a'.repeat(32) };
const tmp = tempDir();
let redis: RedisServer | undefined;
test.before(async () => {
  if (haveRedis()) redis = await startRedis();
});
test.after(async () => {
  await redis?.stop();
  tmp.remove();
});

const subscribers = ['alice', 'bob'].map((u) => ({ impi: `${u}@${REALM}`, ...demoKeys(), amf: Uint8Array.of(0x80, 0) }));

async function pcscf(store: string, port: number, extra: { standby?: boolean } = {}): Promise<RunningPcscf & { logs: string[] }> {
  const logs: string[] = [];
  const p = await startPcscf({
    host: '127.0.0.1', port, clientPort: 0, serverPort: 0, encapPort: 0, subscribers: subscribers.map((s) => ({ ...s, k: s.k.slice(), op: s.op.slice() })),
    realm: REALM, mode: 'ipsec', noIpsec: false, quiet: true, wire: 'udp-enc-tun', registerRate: false, registerRatePerImpi: false,
    log: (l) => logs.push(l), store, environment: KEK, ...extra,
  });
  return Object.assign(p, { logs });
}

/** Stops a P-CSCF the way a crash does: nothing more reaches the store, the sockets go. */
async function crash(p: RunningPcscf): Promise<void> {
  p.writer!.close();
  await p.close();
}

/** A UE whose incoming datagrams are tapped: the ESP sequence numbers the P-CSCF sent, per SPI. */
async function ue(user: string, p: RunningPcscf): Promise<{ ue: UeClient; seqs: Map<number, number[]> }> {
  const net = new NodeUdpNetwork();
  const seqs = new Map<number, number[]>();
  const encapPort = p.pcscf.encapPort!; // the same after a restart (kept in the store)
  tapEspSeqs(net, (d) => d.port === encapPort, (spi, seq) => {
    const l = seqs.get(spi) ?? [];
    l.push(seq);
    seqs.set(spi, l);
  });
  const c = await UeClient.start({ net, address: '127.0.0.1', impi: `${user}@${REALM}`, impu: `sip:${user}@${REALM}`, realm: REALM, ...demoKeys(), pcscf: { address: '127.0.0.1', port: p.pcscf.port, encapPort: p.pcscf.encapPort! }, release: 6 });
  return { ue: c, seqs };
}

const pidf = (user: string, note: string): string => `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:${user}@${REALM}"><tuple id="t"><status><basic>open</basic></status><note>${note}</note></tuple></presence>`;

function captured(seqs: Map<number, number[]>): number {
  return [...seqs.values()].reduce((a, l) => a + l.length, 0);
}

/** No sequence number twice on any SPI; and more packets captured than `before` (the restarted P-CSCF's too). */
function noRepeats(seqs: Map<number, number[]>, before = 0): void {
  assert.ok(captured(seqs) > before, `ESP from the P-CSCF was captured (${before} -> ${captured(seqs)} packets)`);
  for (const [spi, l] of seqs) assert.is(new Set(l).size, l.length, `SPI ${spi}: a sequence number was sent twice (${l.join(',')})`);
}

const stores: Array<[string, () => string]> = [['sqlite', () => `sqlite:${join(tmp.dir, 'restart.db')}`]];
if (haveRedis()) stores.push(['redis', () => redis!.url]);

for (const [name, spec] of stores) {
  test(`${name}: after a crash and restart, a registered UE is answered over its existing SAs, no re-registration, no sequence number reused`, async () => {
    const port = await freePort();
    const a = await pcscf(spec(), port);
    const { ue: alice, seqs } = await ue('alice', a);
    let b: Awaited<ReturnType<typeof pcscf>> | undefined;
    try {
      assert.is((await alice.register()).status, 200);
      const set = alice.current!;
      for (let i = 0; i < 5; i++) assert.is((await alice.publish(pidf('alice', `before ${i}`))).status, 200);
      let registers = 0;
      const before = captured(seqs);
      await crash(a);
      b = await pcscf(spec(), port);
      assert.ok(b.logs.some((l) => /restored 1 registrations over 1 SA sets, 1 core registrations/.test(l)), b.logs.join('\n'));
      b.core.events.registered = () => { registers++; };
      for (let i = 0; i < 5; i++) assert.is((await alice.publish(pidf('alice', `after ${i}`))).status, 200, 'answered over the existing SAs');
      assert.is(alice.current, set, 'the UE still uses the SA set of its registration');
      assert.is(registers, 0, 'no re-registration');
      assert.is(b.core.presence.get(`sip:alice@${REALM}`)?.doc.includes('after 4'), true);
      noRepeats(seqs, before);
      // A re-registration and a de-registration after the restart work as usual.
      assert.is((await alice.reRegister()).status, 200);
      assert.is((await alice.deregister()).status, 200);
      noRepeats(seqs);
    } finally {
      await alice.close?.();
      if (b) await b.close();
    }
  });
}

test('sqlite: after a graceful stop (close(), as on SIGTERM) and restart, the registrations are served as after a crash, and a request reaches a UE before it sends', async () => {
  // close() deletes the SA sets from memory; that must not delete the registrations' records (it did:
  // a planned restart then made every UE register again; found by the kernel test's restart case).
  const spec = `sqlite:${join(tmp.dir, 'graceful.db')}`;
  const port = await freePort();
  const a = await pcscf(spec, port);
  const { ue: alice, seqs } = await ue('alice', a);
  const { ue: bob } = await ue('bob', a);
  let b: Awaited<ReturnType<typeof pcscf>> | undefined;
  try {
    assert.is((await alice.register()).status, 200);
    assert.is((await bob.register()).status, 200);
    assert.is((await alice.publish(pidf('alice', 'before'))).status, 200);
    const before = captured(seqs);
    await a.close();
    b = await pcscf(spec, port);
    assert.ok(b.logs.some((l) => /restored 2 registrations over 2 SA sets, 2 core registrations/.test(l)), b.logs.join('\n'));
    let registers = 0;
    b.core.events.registered = () => { registers++; };
    // Before alice sends anything: bob's MESSAGE reaches her at the encapsulation port the P-CSCF had
    // learned before the restart (kept with her set; without it the P-CSCF sent to 4500).
    const got = new Promise<string>((resolve) => { alice.onMessage = (m) => resolve(m.body); });
    assert.is((await bob.message(`sip:alice@${REALM}`, 'first after the restart')).status, 200);
    assert.is(await got, 'first after the restart');
    assert.is((await alice.publish(pidf('alice', 'after'))).status, 200, 'answered over the existing SAs');
    assert.is(registers, 0, 'no re-registration');
    noRepeats(seqs, before);
  } finally {
    await alice.close?.();
    await bob.close?.();
    if (b) await b.close();
  }
});

test('sqlite: a registration only the core or only the P-CSCF remembers (a crash between their writes) is dropped whole on restore', async () => {
  const file = join(tmp.dir, 'half.db');
  const port = await freePort();
  const a = await pcscf(`sqlite:${file}`, port);
  const { ue: alice } = await ue('alice', a);
  const { ue: bob } = await ue('bob', a);
  let b: Awaited<ReturnType<typeof pcscf>> | undefined;
  try {
    assert.is((await alice.register()).status, 200);
    assert.is((await bob.register()).status, 200);
    await crash(a);
    // What a kill between the two writes leaves: alice's core binding without her P-CSCF registration (the
    // 200 never reached the P-CSCF's store), bob's P-CSCF registration without his core binding (the core's
    // de-registration was written, the P-CSCF's not).
    const st = await openStore(`sqlite:${file}`);
    const keys = (await st.list('')).map(([k]) => k);
    const aliceReg = keys.find((k) => k.startsWith('pcscf/reg/') && k.includes('alice'));
    const bobCore = keys.find((k) => k.startsWith('core/reg/') && k.includes('bob'));
    assert.ok(aliceReg && bobCore, keys.join(' '));
    await st.write([{ del: aliceReg! }, { del: bobCore! }]);
    await st.close();
    b = await pcscf(`sqlite:${file}`, port);
    assert.equal(b.pcscf.restored?.keys, [], 'neither registration comes back at the P-CSCF');
    assert.is(b.core.registrations.size, 0, 'nor at the core');
    assert.is(b.pcscf.db.size, 0, 'no SA set kept for them');
    assert.ok(b.logs.some((l) => /refused core\/reg\/.*alice.*: SADB core registration without its P-CSCF registration/.test(l)), b.logs.join('\n'));
    assert.ok(b.logs.some((l) => /refused pcscf\/reg\/.*bob.*: SADB registration the core no longer has/.test(l)), b.logs.join('\n'));
    // The UEs register again, from scratch, and are served.
    assert.is((await alice.register()).status, 200);
    assert.is((await alice.publish(pidf('alice', 'again'))).status, 200);
  } finally {
    await alice.close?.();
    await bob.close?.();
    if (b) await b.close();
  }
});

if (haveRedis()) {
  test('two instances on one Redis: the standby takes over the address when the first dies and serves its registration', async () => {
    // A database of its own (an earlier test's stored ports, long since freed, could be any socket's now).
    const url = `${redis!.url}/1`;
    const port = await freePort();
    const a = await pcscf(url, port);
    const { ue: bob, seqs } = await ue('bob', a);
    const standby = pcscf(url, port, { standby: true });
    let b: Awaited<ReturnType<typeof pcscf>> | undefined;
    try {
      assert.is((await bob.register()).status, 200);
      assert.is((await bob.publish(pidf('bob', 'through A'))).status, 200);
      await new Promise((r) => setTimeout(r, 300));
      const before = captured(seqs);
      let started = false;
      void standby.then(() => { started = true; });
      assert.not.ok(started, 'the standby waits while A holds the address');
      await crash(a);
      b = await standby;
      assert.ok(b.logs.some((l) => l.startsWith('standby: waiting')), 'B waited');
      assert.is(b.pcscf.restored?.registrations, 1);
      assert.is((await bob.publish(pidf('bob', 'through B'))).status, 200, 'B serves the registration made through A');
      noRepeats(seqs, before);
      assert.is((await bob.deregister()).status, 200);
    } finally {
      await bob.close?.();
      if (b) await b.close();
      else await (await standby).close();
    }
  });
}

test.run();
