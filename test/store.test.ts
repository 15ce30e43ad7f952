// The state store (issue 19): one suite run against the three stores (memory, an SQLite file, a real
// redis-server of the test's own), the records at rest (AES-GCM under the KEK: one byte changed, a record
// moved, a wrong KEK, all refused with their codes; no key byte in the file or the Redis dump), and the SA
// sets' persistence: restored with their state and expiry, outbound sequence numbers that never repeat
// across a restart, inbound windows that refuse what was accepted before it, and a sending SA that stops
// at its mark while the next one is not durable.

import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EspSa, expandKeys, initSync, Ipsec3gppError } from '../src/index.js';
import { MemoryStore, type StateStore, type StoreOp } from '../src/store/store.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { RedisStore } from '../src/store/redis.js';
import { RecordSealer } from '../src/store/sealed.js';
import { StoreWriter } from '../src/store/writer.js';
import { SaStore } from '../src/store/sa-store.js';
import { loadKek, openStore } from '../src/store/open.js';
import { SaDatabase, type SaSet } from '../src/secagree/sadb.js';
import { contains, Rng, seed } from './helpers.js';
import { haveRedis, startRedis, tempDir, type RedisServer } from './store-servers.js';

initSync();

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));
const tmp = tempDir();
let redis: RedisServer | undefined;
const redisMissing = !haveRedis();
if (redisMissing) {
  console.log('  (redis-server is not installed: the Redis cases are skipped; apt-get install redis-server)');
  if (process.env['CI']) test('redis-server is installed (CI)', () => assert.unreachable('redis-server missing'));
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, Ipsec3gppError);
    assert.is((e as Ipsec3gppError).code, code, (e as Error).message);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

type Maker = { name: string; open: () => Promise<StateStore>; reopen?: () => Promise<StateStore> };
let n = 0;
const makers: Maker[] = [
  { name: 'memory', open: async () => new MemoryStore() },
  (() => {
    let path = '';
    return { name: 'sqlite', open: async () => SqliteStore.open((path = join(tmp.dir, `s${n++}.db`))), reopen: async () => SqliteStore.open(path) };
  })(),
];
if (!redisMissing) {
  let hash = '';
  makers.push({ name: 'redis', open: async () => RedisStore.open(redis!.url, { hash: (hash = `t${n++}`) }), reopen: async () => RedisStore.open(redis!.url, { hash }) });
}

test.before(async () => {
  if (!redisMissing) redis = await startRedis();
});
test.after(async () => {
  await redis?.stop();
  tmp.remove();
});

for (const m of makers) {
  test(`${m.name}: get, put, delete, list by prefix in key order, binary values`, async () => {
    const s = await m.open();
    try {
      assert.is(await s.get('a/1'), undefined);
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await s.write([{ put: 'a/2', value: enc('two') }, { put: 'a/1', value: all }, { put: 'a0', value: enc('not a/') }, { put: 'b/1', value: enc('b') }, { put: 'a/*', value: enc('star') }]);
      assert.equal(await s.get('a/1'), all);
      assert.equal((await s.list('a/')).map(([k, v]) => [k, k === 'a/1' ? v.length : dec(v)]), [['a/*', 'star'], ['a/1', 256], ['a/2', 'two']]);
      await s.write([{ put: 'a/2', value: enc('TWO') }, { del: 'a/1' }, { del: 'missing' }]);
      assert.is(dec(await s.get('a/2')), 'TWO');
      assert.is(await s.get('a/1'), undefined);
      assert.equal((await s.list('a/')).map(([k]) => k), ['a/*', 'a/2']);
      assert.equal(await s.list('zz/'), []);
      // A caller's buffer is not kept: changing it after the write changes nothing stored.
      const buf = enc('xyz');
      await s.write([{ put: 'c', value: buf }]);
      buf[0] = 0;
      assert.is(dec(await s.get('c')), 'xyz');
    } finally {
      await s.close();
    }
    await rejectsCode(s.get('a/2'), 'STORE_UNAVAILABLE');
  });

  test(`${m.name}: a batch with a bad operation in the middle changes nothing (atomic)`, async () => {
    const s = await m.open();
    try {
      await s.write([{ put: 'k/1', value: enc('old') }]);
      const bad = [{ put: 'k/1', value: enc('new') }, { put: 'k/2', value: enc('two') }, { put: 'k/3', value: 42 as unknown as Uint8Array }, { del: 'k/1' }] as StoreOp[];
      let threw = false;
      try {
        await s.write(bad);
      } catch {
        threw = true;
      }
      assert.ok(threw, 'the batch was refused');
      assert.is(dec(await s.get('k/1')), 'old');
      assert.is(await s.get('k/2'), undefined);
    } finally {
      await s.close();
    }
  });

  if (m.reopen) {
    test(`${m.name}: what was written is there after the store is closed and opened again`, async () => {
      const s = await m.open();
      await s.write(Array.from({ length: 500 }, (_, i) => ({ put: `r/${String(i).padStart(4, '0')}`, value: enc(`v${i}`) })));
      await s.close();
      const t = await m.reopen!();
      try {
        const l = await t.list('r/');
        assert.is(l.length, 500);
        assert.is(dec(l[123]![1]), 'v123');
      } finally {
        await t.close();
      }
    });
  }
}

test('openStore: names, and STORE_UNAVAILABLE for an unknown form or an unreachable Redis', async () => {
  assert.is((await openStore('memory')).kind, 'memory');
  const s = await openStore(`sqlite:${join(tmp.dir, 'open.db')}`);
  assert.is(s.kind, 'sqlite');
  await s.close();
  await rejectsCode(openStore('mysql://x'), 'STORE_UNAVAILABLE');
  await rejectsCode(openStore('sqlite:'), 'STORE_UNAVAILABLE');
  await rejectsCode(openStore('redis://127.0.0.1:1'), 'STORE_UNAVAILABLE');
});

test('loadKek: hex in a variable or a file, 32 raw bytes; STORE_KEK otherwise', async () => {
  const hex = 'a1'.repeat(32);
  assert.equal(loadKek({ env: 'K', environment: { K: hex } }), new Uint8Array(32).fill(0xa1));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(tmp.dir, 'kek.hex'), `${hex.slice(0, 30)}\n${hex.slice(30)}\n`);
  assert.equal(loadKek({ file: join(tmp.dir, 'kek.hex') }), new Uint8Array(32).fill(0xa1));
  writeFileSync(join(tmp.dir, 'kek.bin'), new Uint8Array(32).fill(7));
  assert.equal(loadKek({ file: join(tmp.dir, 'kek.bin') }), new Uint8Array(32).fill(7));
  for (const bad of [{ env: 'K', environment: {} }, { env: 'K', environment: { K: 'a1'.repeat(31) } }, { file: join(tmp.dir, 'none') }, {}]) {
    try {
      loadKek(bad);
      assert.unreachable();
    } catch (e) {
      assert.is((e as Ipsec3gppError).code, 'STORE_KEK');
    }
  }
});

const KEK = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);

test('records at rest: every byte changed, a record moved to another key, a wrong KEK: refused with their codes', async () => {
  const sealer = await RecordSealer.create(KEK);
  const plain = enc('{"ck":"secret"}');
  const blob = await sealer.seal('pcscf/sa/1/keys', plain);
  assert.equal(await sealer.open('pcscf/sa/1/keys', blob), plain);
  assert.not.ok(contains(blob, plain), 'the plaintext is not in the record');
  for (let i = 0; i < blob.length; i++) {
    const t = blob.slice();
    t[i]! ^= 0x01;
    await rejectsCode(sealer.open('pcscf/sa/1/keys', t), 'STORE_RECORD');
  }
  for (const cut of [0, 1, 13, 28, blob.length - 1]) await rejectsCode(sealer.open('pcscf/sa/1/keys', blob.subarray(0, cut)), 'STORE_RECORD');
  await rejectsCode(sealer.open('pcscf/sa/2/keys', blob), 'STORE_RECORD');
  const other = await RecordSealer.create(KEK.map((b) => b ^ 0x80));
  await rejectsCode(other.open('pcscf/sa/1/keys', blob), 'STORE_RECORD');
  await rejectsCode(RecordSealer.create(new Uint8Array(16)), 'STORE_KEK');
  // The check record tells a wrong KEK apart.
  const store = new MemoryStore();
  await sealer.checkStore(store, 'p/');
  await sealer.checkStore(store, 'p/');
  await rejectsCode(other.checkStore(store, 'p/'), 'STORE_KEK');
  assert.is(JSON.stringify(sealer), '{"type":"RecordSealer","algorithm":"AES-256-GCM"}');
});

// ---- SA sets ----

const CK = Uint8Array.from({ length: 16 }, (_, i) => 0xc0 + i);
const IK = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i * 3);

function pcscfDb(sa: SaStore): SaDatabase {
  const db = new SaDatabase({ role: 'pcscf', onKeys: sa.onKeys, autoExpire: false });
  sa.attach(db);
  return db;
}

function makeSet(db: SaDatabase, key: string, ealg: 'aes-cbc' | 'aes-gcm' | 'null' = 'aes-cbc'): SaSet {
  const spiC = db.spis.allocate(), spiS = db.spis.allocate();
  return db.create({
    key, ueAddress: '10.0.0.2', pcscfAddress: '10.0.0.1',
    ue: { spiC: 1000 + spiC % 1000, spiS: 2000 + spiS % 1000, portC: 40000, portS: 40001 },
    pcscf: { spiC, spiS, portC: 5062, portS: 5064 }, alg: ealg === 'aes-gcm' ? 'null' : 'hmac-sha-1-96', ealg, ck: CK, ik: IK,
  });
}

/** The UE's end of a set: the same SAs from the other side (independent EspSa objects). */
function ueEnd(set: SaSet, name: 'SA1' | 'SA3' | 'SA2' | 'SA4'): EspSa {
  const e = set.sa(name);
  const o = { spi: e.spi, alg: set.alg, ealg: set.ealg, ck: CK, ik: IK, replayWindow: 64 };
  return e.direction === 'outbound' ? EspSa.inbound(o) : EspSa.outbound(o);
}

const seqOf = (p: Uint8Array): number => new DataView(p.buffer, p.byteOffset).getUint32(4);

for (const m of makers) {
  test(`${m.name}: SA sets come back after a crash with state, expiry and keys; sequence numbers never repeat; replays refused`, async () => {
    const store = await m.open();
    const sealer = await RecordSealer.create(KEK);
    const w = new StoreWriter(store, sealer);
    const sa = new SaStore(w, 'pcscf/', { seqBlock: 64 });
    const db = pcscfDb(sa);
    const est = makeSet(db, 'alice', 'aes-gcm');
    makeSet(db, "bob"); // stays temporary
    db.establish(est, 600_000);
    await w.flush();
    // Packets both ways before the crash; the UE's side sends SA1, the P-CSCF's SA3.
    const ue1 = ueEnd(est, 'SA1');
    const ue3 = ueEnd(est, 'SA3');
    const sent: number[] = [];
    const captured: Uint8Array[] = [];
    for (let i = 0; i < 150; i++) {
      const p = est.sa('SA3').esp.seal(enc(`response ${i}`));
      sent.push(seqOf(p));
      assert.is(dec(ue3.open(p)!.payload), `response ${i}`);
      const q = ue1.seal(enc(`request ${i}`));
      captured.push(q);
      assert.is(dec(est.sa('SA1').esp.open(q)!.payload), `request ${i}`);
      sa.inbound(est);
      if (i % 40 === 0) await w.flush();
    }
    await new Promise((r) => setTimeout(r, 260)); // the inbound flush interval
    await w.flush();
    const expiresAt = est.expiresAt;
    const ids = [est.sa('SA1').spi, est.sa('SA4').spi];
    // Crash: the writer stops mid-flight, nothing is detached or deleted.
    w.close();
    db.clear();

    const store2 = m.reopen ? await (async () => { await store.close(); return m.reopen!(); })() : store;
    const w2 = new StoreWriter(store2, sealer);
    const sa2 = new SaStore(w2, 'pcscf/', { seqBlock: 64 });
    const db2 = pcscfDb(sa2);
    const report = await sa2.restore((s) => s.state !== 'temporary');
    assert.equal(report.sets.map((s) => s.set.key), ['alice']);
    assert.equal(report.refused.map((r) => r.code), ['SADB'], 'the temporary set is refused');
    const back = db2.sets('alice')[0]!;
    assert.is(back.state, 'established');
    assert.is(back.expiresAt, expiresAt);
    assert.equal([back.sa('SA1').spi, back.sa('SA4').spi], ids);
    assert.ok(db2.spis.has(ids[0]!) && db2.spis.has(ids[1]!), 'the SPIs are taken again');
    assert.is(db2.bySpi(ids[0]!)?.set, back);
    assert.is(db2.sets('bob').length, 0);
    // The keys are the same (the UE's old SAs open what the restored set sends), and no number repeats.
    for (let i = 0; i < 100; i++) {
      if (i % 20 === 0) await w2.flush(); // a mark is durable well before the counter gets there
      const p = back.sa('SA3').esp.seal(enc(`after ${i}`));
      sent.push(seqOf(p));
      assert.is(dec(ue3.open(p)!.payload), `after ${i}`);
    }
    assert.is(new Set(sent).size, sent.length, 'no sequence number sent twice on SA3');
    assert.ok(Math.min(...sent.slice(150)) > Math.max(...sent.slice(0, 150)));
    // Every request accepted before the crash is refused now; new ones pass.
    for (const q of captured) {
      try {
        back.sa('SA1').esp.open(q);
        assert.unreachable('a replayed request was accepted');
      } catch (e) {
        assert.ok(['ESP_REPLAY_DUPLICATE', 'ESP_REPLAY_TOO_OLD'].includes((e as Ipsec3gppError).code), (e as Error).message);
      }
    }
    assert.is(dec(back.sa('SA1').esp.open(ue1.seal(enc('new')))!.payload), 'new');
    ue1.delete(); ue3.delete();
    w2.close();
    db2.clear();
    await store2.close();
  });
}

test('an outbound SA stops at its mark while the next one is not durable, and goes on once it is', async () => {
  let release: (() => void) | undefined;
  let hold = false;
  const inner = new MemoryStore();
  const slow: StateStore = {
    kind: 'slow', get: (k) => inner.get(k), list: (p) => inner.list(p), close: () => inner.close(),
    write: async (ops) => {
      if (hold) await new Promise<void>((r) => (release = r));
      return inner.write(ops);
    },
  };
  const w = new StoreWriter(slow, await RecordSealer.create(KEK));
  const sa = new SaStore(w, 'p/', { seqBlock: 16 });
  const db = pcscfDb(sa);
  const set = makeSet(db, 'carol');
  db.establish(set, 600_000);
  await w.flush();
  const out = set.sa('SA3').esp;
  hold = true;
  for (let i = 1; i <= 16; i++) assert.is(seqOf(out.seal(enc('x'))), i); // up to the durable mark (16)
  try {
    out.seal(enc('x'));
    assert.unreachable('sent past the durable mark');
  } catch (e) {
    assert.is((e as Ipsec3gppError).code, 'ESP_SEQ_EXHAUSTED');
  }
  await new Promise((r) => setTimeout(r, 30));
  assert.type(release, 'function', 'the new mark is being written');
  try {
    out.seal(enc('x'));
    assert.unreachable('sent past the durable mark while it was being written');
  } catch (e) {
    assert.is((e as Ipsec3gppError).code, 'ESP_SEQ_EXHAUSTED');
  }
  hold = false;
  release!();
  await w.flush();
  assert.is(seqOf(out.seal(enc('x'))), 17, 'the counter goes on where it stopped');
  const marks = JSON.parse(new TextDecoder().decode(await w.sealer.open(`p/sa/${set.id}/seq`, (await inner.get(`p/sa/${set.id}/seq`))!)));
  assert.ok(marks.out.SA3 >= 32, `the mark moved a block on (${marks.out.SA3})`);
  w.close();
  db.clear();
});

test('a tampered or missing record refuses its set only (STORE_RECORD), the others come back; a wrong KEK reads nothing', async () => {
  const store = new MemoryStore();
  const sealer = await RecordSealer.create(KEK);
  const w = new StoreWriter(store, sealer);
  const sa = new SaStore(w, 'p/');
  const db = pcscfDb(sa);
  const sets = ['a', 'b', 'c'].map((k) => makeSet(db, k));
  for (const s of sets) db.establish(s, 600_000);
  await w.flush();
  w.close();
  db.clear();
  const rng = new Rng(seed());
  const victim = `p/sa/${sets[1]!.id}/keys`;
  const blob = (await store.get(victim))!;
  blob[rng.int(blob.length)]! ^= 1 << rng.int(8);
  await store.write([{ put: victim, value: blob }, { del: `p/sa/${sets[2]!.id}/state` }]);
  const w2 = new StoreWriter(store, sealer);
  const sa2 = new SaStore(w2, 'p/');
  const db2 = pcscfDb(sa2);
  const r = await sa2.restore();
  assert.equal(r.sets.map((s) => s.set.key), ['a']);
  assert.equal(r.refused.map((x) => x.code).sort(), ['STORE_RECORD', 'STORE_RECORD']);
  assert.is(db2.size, 1);
  assert.equal((await store.list(`p/sa/${sets[1]!.id}/`)).length, 0, 'the refused records are deleted');
  w2.close();
  db2.clear();
  // A wrong KEK: every record is refused; nothing is loaded half.
  const s3 = new MemoryStore();
  const w3 = new StoreWriter(s3, sealer);
  const sa3 = new SaStore(w3, 'p/');
  const db3 = pcscfDb(sa3);
  db3.establish(makeSet(db3, 'd'), 600_000);
  await w3.flush();
  w3.close();
  db3.clear();
  const w4 = new StoreWriter(s3, await RecordSealer.create(KEK.map((b) => ~b & 0xff)));
  const sa4 = new SaStore(w4, 'p/');
  const db4 = pcscfDb(sa4);
  const r4 = await sa4.restore();
  assert.is(r4.sets.length, 0);
  assert.is(db4.size, 0);
  assert.equal(r4.refused.map((x) => x.code), ['STORE_RECORD']);
  w4.close();
});

test('no key byte in the store: CK, IK and the expanded keys appear in no SQLite page nor Redis dump', async () => {
  const keys = [expandKeys({ alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck: CK, ik: IK }), expandKeys({ alg: 'null', ealg: 'aes-gcm', ck: CK, ik: IK })];
  const needles = [CK, IK, ...keys.flatMap((k) => [k.encKey, k.authKey].filter((b) => b.length > 0))].map((b) => b.subarray(0, 12));
  const path = join(tmp.dir, 'keys.db');
  const stores: Array<[string, StateStore, () => Promise<Uint8Array>]> = [[`sqlite`, await SqliteStore.open(path), async () => {
    const parts = [path, `${path}-wal`].filter(existsSync).map((f) => readFileSync(f));
    return new Uint8Array(Buffer.concat(parts));
  }]];
  if (redis) stores.push(['redis', await RedisStore.open(redis.url, { hash: 'keys' }), async () => new Uint8Array(readFileSync(await redis!.dump()))]);
  for (const [name, store, raw] of stores) {
    const w = new StoreWriter(store, await RecordSealer.create(KEK));
    const sa = new SaStore(w, 'p/');
    const db = pcscfDb(sa);
    for (let i = 0; i < 20; i++) db.establish(makeSet(db, `u${i}`, i % 2 ? 'aes-gcm' : 'aes-cbc'), 600_000);
    await w.flush();
    const bytes = await raw();
    assert.ok(bytes.length > 1000, `${name}: the raw store was read (${bytes.length} bytes)`);
    assert.ok(contains(bytes, enc('p/sa/')), `${name}: the records are in what was read`);
    for (const k of needles) assert.not.ok(contains(bytes, k), `${name}: a key's bytes are in the store`);
    assert.not.ok(contains(bytes, enc('u1')) && contains(bytes, enc('"key":"u1"')), `${name}: the records are sealed`);
    w.close();
    db.clear();
    await store.close();
  }
});

test.run();
