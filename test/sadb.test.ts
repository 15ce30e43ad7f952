// The SA database (TS 33.203 7.1-7.4): the four SAs of a set for both roles, state transitions and
// lifetimes, expiry, old-set retirement, de-registration ordering, atomic creation, SPI rules and
// uniqueness over 10^6 allocations, lookups, and key wiping on delete.

import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoRandomU32 } from '../src/secagree/spi.js';
import { SaDatabase, SpiAllocator, initSync, memoryStats, type SaEvent, type SaSet, type SaSetInit } from '../src/index.js';
import { contextOf } from '../src/internal/context.js';
import { rawMemory } from '../src/internal/wasm.js';
import { Rng, seed, throwsCode } from './helpers.js';

initSync();

const UE = '10.0.0.2';
const PCSCF = '10.0.0.1';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

/** A UE database and a P-CSCF database holding the same set, as after a 401. */
function both(c = clock(), extra: Partial<SaSetInit> = {}): { ue: SaDatabase; pc: SaDatabase; init: SaSetInit; u: SaSet; p: SaSet; events: Array<[string, SaEvent, number]> } {
  const events: Array<[string, SaEvent, number]> = [];
  const ue = new SaDatabase({ role: 'ue', clock: c.now, autoExpire: false });
  const pc = new SaDatabase({ role: 'pcscf', clock: c.now, autoExpire: false });
  ue.on((s, e) => events.push(['ue', e, s.id]));
  pc.on((s, e) => events.push(['pc', e, s.id]));
  const uSpis = [ue.spis.allocate(), ue.spis.allocate()];
  const pSpis = [pc.spis.allocate(uSpis), pc.spis.allocate(uSpis)];
  const init: SaSetInit = {
    key: 'alice@ims.example', ueAddress: UE, pcscfAddress: PCSCF,
    ue: { spiC: uSpis[0]!, spiS: uSpis[1]!, portC: 31000 + Math.floor(Math.random() * 1000), portS: 5064 },
    pcscf: { spiC: pSpis[0]!, spiS: pSpis[1]!, portC: 5100, portS: 5101 },
    alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck: randomBytes(16), ik: randomBytes(16), ...extra,
  };
  return { ue, pc, init, u: ue.create(init), p: pc.create(init), events };
}

test('the four SAs: names, SPIs, selectors and directions per role; packets flow UE <-> P-CSCF on each', () => {
  const { u, p, init } = both();
  const dir = (s: SaSet): string => s.sas.map((e) => `${e.name}:${e.direction}`).join(' ');
  assert.is(dir(u), 'SA1:outbound SA2:inbound SA3:inbound SA4:outbound');
  assert.is(dir(p), 'SA1:inbound SA2:outbound SA3:outbound SA4:inbound');
  assert.equal(u.sas.map((e) => e.spi), [init.pcscf.spiS, init.ue.spiS, init.ue.spiC, init.pcscf.spiC]);
  const sa1 = u.sa('SA1');
  assert.equal([sa1.srcAddress, sa1.srcPort, sa1.dstAddress, sa1.dstPort], [UE, init.ue.portC, PCSCF, init.pcscf.portS]);
  const sa2 = p.sa('SA2');
  assert.equal([sa2.srcAddress, sa2.srcPort, sa2.dstAddress, sa2.dstPort], [PCSCF, init.pcscf.portC, UE, init.ue.portS]);
  for (const name of ['SA1', 'SA2', 'SA3', 'SA4'] as const) {
    const [tx, rx] = u.sa(name).direction === 'outbound' ? [u.sa(name), p.sa(name)] : [p.sa(name), u.sa(name)];
    const msg = new TextEncoder().encode(`over ${name}`);
    assert.is(new TextDecoder().decode(rx.esp.open(tx.esp.seal(msg))!.payload), `over ${name}`);
  }
  assert.is(u.outboundFrom(init.ue.portC)!.name, 'SA1');
  assert.is(u.outboundFrom(init.ue.portS)!.name, 'SA4');
  assert.is(p.outboundFrom(init.pcscf.portS)!.name, 'SA3');
  assert.is(p.outboundFrom(init.pcscf.portC)!.name, 'SA2');
});

test('lookups: inbound SAs by SPI, every SA by selector; JSON never holds keys', () => {
  const { ue, pc, u, p, init } = both();
  assert.is(pc.bySpi(init.pcscf.spiS)!.name, 'SA1');
  assert.is(pc.bySpi(init.pcscf.spiC)!.name, 'SA4');
  assert.is(pc.bySpi(init.ue.spiC), undefined, 'an outbound SA is not found by SPI');
  assert.is(ue.bySpi(init.ue.spiS)!.set, u);
  assert.is(pc.bySelector(UE, init.ue.portC, PCSCF, init.pcscf.portS)!.set, p);
  assert.is(pc.bySelector(UE, 1, PCSCF, init.pcscf.portS), undefined);
  const json = JSON.stringify(p);
  assert.not.ok(json.includes(Buffer.from(init.ck).toString('hex')));
  assert.ok(json.includes('"state":"temporary"'));
});

test('states and lifetimes: temporary (reg-await-auth) -> established (expiry + 30 s) -> old; events in order', () => {
  const c = clock();
  const { ue, u, events } = both(c);
  assert.is(u.state, 'temporary');
  assert.is(u.expiresAt, c.now() + 240_000);
  ue.establish(u, 600_000);
  assert.is(u.state, 'established');
  assert.is(u.expiresAt, c.now() + 630_000);
  throwsCode(() => ue.establish(u, 1), 'SECAGREE_STATE');
  // Re-registration with a challenge: a second set (new port_uc, same port_us), then established.
  const s1 = ue.spis.allocate();
  const s2 = ue.spis.allocate();
  c.advance(300_000);
  const u2 = ue.create({ key: u.key, ueAddress: UE, pcscfAddress: PCSCF, ue: { spiC: s1, spiS: s2, portC: u.ue.portC + 1, portS: u.ue.portS }, pcscf: { spiC: 90001, spiS: 90002, portC: 5100, portS: 5101 }, alg: 'hmac-sha-1-96', ealg: 'null', ck: randomBytes(16), ik: randomBytes(16) });
  ue.establish(u2, 60_000);
  assert.is(u.state, 'old');
  // max(old lifetime, now + 60 s + 30 s): the old set's deadline was later.
  assert.is(u2.expiresAt, u.expiresAt);
  // SA2/SA4 selectors are shared (port_us stayed): outbound selection prefers the newest established set.
  assert.is(ue.bySelector(UE, u.ue.portS, PCSCF, 5100)!.set, u2);
  assert.equal(events.filter(([who]) => who === 'ue').map(([, e]) => e), ['created', 'established', 'created', 'old', 'established']);
});

test('expiry: temporary sets time out; established sets at expiry + 30 s; by the heap, in deadline order', () => {
  const c = clock();
  const { ue, u, events } = both(c);
  const init2 = { ...both(c).init };
  assert.is(ue.tick(), 0);
  c.advance(239_999);
  assert.is(ue.tick(), 0);
  c.advance(1);
  assert.is(ue.tick(), 1);
  assert.is(u.state, 'deleted');
  assert.ok(events.some(([w, e, id]) => w === 'ue' && e === 'expired' && id === u.id));
  // Many sets with random deadlines expire in order.
  const db = new SaDatabase({ role: 'pcscf', clock: c.now, autoExpire: false });
  const rng = new Rng(seed());
  const order: number[] = [];
  db.on((s, e) => { if (e === 'expired') order.push(s.expiresAt); });
  for (let i = 0; i < 200; i++) {
    const spiC = db.spis.allocate();
    const spiS = db.spis.allocate();
    const set = db.create({ ...init2, key: `k${i}`, ue: { ...init2.ue, spiC: 300 + 2 * i, spiS: 301 + 2 * i, portC: 20000 + i }, pcscf: { ...init2.pcscf, spiC, spiS } });
    db.establish(set, rng.int(100_000));
  }
  c.advance(200_000);
  assert.is(db.tick(), 200);
  assert.equal(order, [...order].sort((a, b) => a - b));
  assert.is(db.size, 0);
  assert.is(db.spis.size, 0, 'SPIs returned');
});

test('old set retirement: deleted when the peer first uses the new set and its transactions are done', () => {
  const c = clock();
  const { pc, p, init } = both(c);
  pc.establish(p, 600_000);
  pc.beginTransaction(p); // e.g. a NOTIFY in flight on the old set
  const spiC = pc.spis.allocate();
  const spiS = pc.spis.allocate();
  const p2 = pc.create({ ...init, ue: { ...init.ue, spiC: 777, spiS: 778, portC: init.ue.portC + 1 }, pcscf: { ...init.pcscf, spiC, spiS } });
  pc.establish(p2, 600_000);
  assert.is(p.state, 'old');
  pc.peerUsed(p2);
  assert.is(p.state, 'old', 'kept while its transaction runs');
  pc.endTransaction(p);
  assert.is(p.state, 'deleted');
  assert.is(p2.state, 'established');
});

test('de-registration: the set is deleted only after the 200 OK has passed through it', () => {
  const { ue, u } = both();
  ue.establish(u, 600_000);
  ue.beginTransaction(u); // REGISTER Expires: 0 sent over SA1
  ue.deleteWhenIdle(u);
  assert.is(u.state, 'established', 'still there for the 200 OK');
  const tx = u.sa('SA1').esp;
  assert.ok(tx.seal(new Uint8Array(1)).length > 0);
  ue.endTransaction(u); // the 200 OK arrived on SA3
  assert.is(u.state, 'deleted');
  throwsCode(() => tx.seal(new Uint8Array(1)), 'DESTROYED');
});

test('creation is all or nothing; SPI rules', () => {
  const { pc, init } = both();
  const before = memoryStats().liveContexts;
  const spiC = pc.spis.allocate();
  const spiS = pc.spis.allocate();
  // A bad key length for the chosen algorithms fails after some SAs would have been built: nothing remains.
  throwsCode(() => pc.create({ ...init, key: 'bob', ue: { ...init.ue, spiC: 5000, spiS: 5001, portC: 40000 }, pcscf: { ...init.pcscf, spiC, spiS }, ck: new Uint8Array(15) }), 'KEY_LENGTH');
  assert.is(memoryStats().liveContexts, before);
  assert.is(pc.size, 1);
  assert.is(pc.bySpi(spiC), undefined);
  // Not allocated from this database, already used, or clashing with the peer's.
  throwsCode(() => pc.create({ ...init, key: 'bob', ue: { ...init.ue, spiC: 5000, spiS: 5001 }, pcscf: { ...init.pcscf, spiC: 123456, spiS } }), 'SADB');
  throwsCode(() => pc.create({ ...init, key: 'bob', ue: { ...init.ue, spiC: 5000, spiS: 5001 } }), 'SADB');
  throwsCode(() => pc.create({ ...init, key: 'bob', ue: { ...init.ue, spiC, spiS: 5001 }, pcscf: { ...init.pcscf, spiC, spiS } }), 'SADB');
  throwsCode(() => pc.create({ ...init, key: 'bob', ue: { ...init.ue, spiC: 0, spiS: 5001 }, pcscf: { ...init.pcscf, spiC, spiS } }), 'SADB'); // peer SPI 0 (reserved); 1..255 are accepted from peers
  // At most maxSetsPerKey sets per registration.
  const small = new SaDatabase({ role: 'pcscf', autoExpire: false, maxSetsPerKey: 1 });
  const a = small.spis.allocate();
  const b = small.spis.allocate();
  small.create({ ...init, pcscf: { ...init.pcscf, spiC: a, spiS: b } });
  throwsCode(() => small.create({ ...init, ue: { ...init.ue, spiC: 9, spiS: 10 }, pcscf: { ...init.pcscf, spiC: small.spis.allocate(), spiS: small.spis.allocate() } }), 'SADB');
  small.clear();
});

test('SPI allocation: 10^6 allocations while sets are freed, never a duplicate among live SPIs, never < 256', () => {
  const rng = new Rng(seed());
  const alloc = new SpiAllocator({ min: 256, max: 300_000 }, () => rng.u32());
  const live = new Set<number>();
  const order: number[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    const s = alloc.allocate();
    if (live.has(s) || s < 256 || s > 300_000) assert.unreachable(`duplicate or out of range: ${s}`);
    live.add(s);
    order.push(s);
    if (live.size > 200_000 || rng.int(3) === 0) {
      const at = rng.int(order.length);
      const victim = order[at]!;
      order[at] = order[order.length - 1]!;
      order.pop();
      live.delete(victim);
      alloc.release(victim);
    }
  }
  assert.is(alloc.size, live.size);
  // A nearly full range still finds the last free SPIs, then reports exhaustion.
  const tiny = new SpiAllocator({ min: 1000, max: 1009 }, () => 0);
  const got = new Set(Array.from({ length: 10 }, () => tiny.allocate()));
  assert.is(got.size, 10);
  throwsCode(() => tiny.allocate(), 'SPI_EXHAUSTED');
  throwsCode(() => new SpiAllocator({ min: 100 }), 'INVALID_ARGUMENT');
  const ex = new SpiAllocator({ min: 500, max: 501 }, () => 0);
  assert.is(ex.allocate([500]), 501);
});

test('delete zeroes every SA key in WASM memory', () => {
  const { pc, p } = both();
  const regions = p.sas.map((e) => contextOf(e.esp));
  assert.ok(regions.every(({ ptr, size }) => rawMemory().subarray(ptr + 8, ptr + size).some((x) => x !== 0)));
  pc.delete(p);
  assert.ok(regions.every(({ ptr, size }) => rawMemory().subarray(ptr + 8, ptr + size).every((x) => x === 0)));
  assert.is(pc.size, 0);
  pc.delete(p); // idempotent
});

test('automatic expiry by timer (no tick calls)', async () => {
  const db = new SaDatabase({ role: 'ue', regAwaitAuthMs: 30 });
  const a = db.spis.allocate();
  const b = db.spis.allocate();
  const set = db.create({ key: 'k', ueAddress: UE, pcscfAddress: PCSCF, ue: { spiC: a, spiS: b, portC: 1, portS: 2 }, pcscf: { spiC: 7001, spiS: 7002, portC: 3, portS: 4 }, alg: 'hmac-md5-96', ealg: 'null', ck: randomBytes(16), ik: randomBytes(16) });
  await new Promise((r) => setTimeout(r, 80));
  assert.is(set.state, 'deleted');
  assert.is(db.size, 0);
});

test('binary addresses are parsed once per set; a set with an unparsable address is refused and nothing is created', () => {
  const { u, pc, init } = both();
  for (const e of u.sas) {
    assert.equal(Array.from(e.srcIp), e.srcAddress.split('.').map(Number));
    assert.equal(Array.from(e.dstIp), e.dstAddress.split('.').map(Number));
  }
  const before = [pc.size, memoryStats().liveContexts];
  const spis = [pc.spis.allocate(), pc.spis.allocate()];
  try {
    pc.create({ ...init, key: 'bob@ims.example', ueAddress: 'not-an-address', pcscf: { ...init.pcscf, spiC: spis[0]!, spiS: spis[1]! } });
    assert.unreachable('accepted');
  } catch (e) {
    assert.is((e as { code?: string }).code, 'INVALID_ARGUMENT');
  }
  assert.equal([pc.size, memoryStats().liveContexts], before);
  assert.is(pc.bySpi(spis[0]!), undefined);
});

test('selector lookups against a scan of every set: shared UE addresses (NAT) and ports, old and new sets, the P-CSCF address as a UE address, deletions', () => {
  const rng = new Rng(seed());
  const db = new SaDatabase({ role: 'pcscf', autoExpire: false });
  const ueAddrs = ['10.0.0.2', '10.0.0.3', '192.0.2.7', PCSCF, '2001:db8::1', '2001:db8::2'];
  const pcAddrs = [PCSCF, '2001:db8::100'];
  const uePorts = [5060, 5062, 5064, 5100, 40000];
  const pcPorts = [5100, 5101, 5064];
  const pick = <T>(a: readonly T[]): T => a[rng.int(a.length)]!;
  const rank = (set: SaSet): number => (set.state === 'established' ? 3 : set.state === 'temporary' ? 2 : 1);
  let ueSpi = 300;
  const ck = randomBytes(16), ik = randomBytes(16);
  const create = (): void => {
    const key = `k${rng.int(40)}`;
    if (db.sets(key).length >= 3) return;
    const spis = [ueSpi++, ueSpi++];
    const pcscf = { spiC: db.spis.allocate(spis), spiS: 0, portC: pick(pcPorts), portS: pick(pcPorts) };
    pcscf.spiS = db.spis.allocate([...spis, pcscf.spiC]);
    const set = db.create({
      key, ueAddress: pick(ueAddrs), pcscfAddress: pick(pcAddrs), alg: 'hmac-sha-1-96', ealg: 'null', ck, ik,
      ue: { spiC: spis[0]!, spiS: spis[1]!, portC: pick(uePorts), portS: pick(uePorts) }, pcscf,
    });
    if (rng.int(2) === 0) db.establish(set, 600_000); // an established set of the key before it becomes old
  };
  const check = (): number => {
    const all = [...db.all()].sort((a, b) => a.id - b.id).flatMap((set) => set.sas);
    const tuples = all.map((e) => [e.srcAddress, e.srcPort, e.dstAddress, e.dstPort] as const);
    for (let i = 0; i < 50; i++) tuples.push([pick([...ueAddrs, ...pcAddrs]), pick([...uePorts, ...pcPorts]), pick([...ueAddrs, ...pcAddrs]), pick([...uePorts, ...pcPorts])]);
    let hits = 0;
    for (const [sa, sp, da, dp] of tuples) {
      const want = all.filter((e) => e.srcAddress === sa && e.srcPort === sp && e.dstAddress === da && e.dstPort === dp);
      const got = db.allBySelector(sa, sp, da, dp);
      const names = (l: readonly { set: SaSet; name: string }[]): string[] => l.map((e) => `${e.set.id}/${e.name}`).sort();
      assert.equal(names(got), names(want), `allBySelector(${sa}, ${sp}, ${da}, ${dp}) (TEST_SEED=${rng.seed})`);
      let best: (typeof want)[number] | undefined;
      for (const e of want) if (best === undefined || rank(e.set) > rank(best.set) || (rank(e.set) === rank(best.set) && e.set.id > best.set.id)) best = e;
      assert.is(db.bySelector(sa, sp, da, dp), best, `bySelector(${sa}, ${sp}, ${da}, ${dp}) (TEST_SEED=${rng.seed})`);
      if (best !== undefined) hits++;
    }
    return hits;
  };
  for (let i = 0; i < 150; i++) create();
  assert.ok(db.size > 60 && check() >= 4 * db.size);
  for (const set of [...db.all()]) if (rng.int(2) === 0) db.delete(set);
  check();
  for (let i = 0; i < 100; i++) create();
  check();
  db.clear();
  assert.is(check(), 0);
});

test('SPIs above 2^31 (kept as signed 32-bit keys): lookups and the allocator take the exact SPI only', () => {
  const db = new SaDatabase({ role: 'pcscf', autoExpire: false, spiRange: { min: 0xfffffff0, max: 0xffffffff } });
  const { init } = both();
  const spiC = db.spis.allocate(), spiS = db.spis.allocate();
  const set = db.create({ ...init, pcscf: { ...init.pcscf, spiC, spiS } });
  for (const spi of [spiC, spiS]) {
    assert.ok(spi > 2 ** 31);
    assert.is(db.bySpi(spi)!.set, set);
    assert.is(db.bySpi(spi)!.spi, spi);
    for (const alias of [spi | 0, spi - 2 ** 32, spi + 2 ** 32, spi + 0.5]) {
      assert.is(db.bySpi(alias), undefined, `bySpi(${alias})`);
      assert.is(db.spis.has(alias), false, `has(${alias})`);
      db.spis.release(alias);
      assert.is(db.spis.has(spi), true, `release(${alias}) released ${spi}`);
    }
    throwsCode(() => db.spis.reserve(spi), 'SPI_EXHAUSTED');
  }
  db.delete(set);
  assert.is(db.spis.size, 0);
  assert.is(db.bySpi(spiC), undefined);
});

test('cryptoRandomU32 (pooled CSPRNG): 32-bit integers, each drawn once (no repeats over several pool refills), every bit balanced', () => {
  const n = 20000;
  const seen = new Set<number>();
  const ones = new Array<number>(32).fill(0);
  for (let i = 0; i < n; i++) {
    const v = cryptoRandomU32();
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
    seen.add(v);
    for (let b = 0; b < 32; b++) if ((v >>> b) & 1) ones[b]!++;
  }
  // 20 000 draws from 2^32: the expected number of coincidences is 0.05; a value handed out twice shows.
  assert.ok(seen.size >= n - 2, `${n - seen.size} repeats`);
  for (const c of ones) assert.ok(c > n * 0.46 && c < n * 0.54, `a bit set ${c} times of ${n}`);
});

test.run();
