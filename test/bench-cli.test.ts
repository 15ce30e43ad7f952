// `ipsec-3gpp bench` (src/cli/bench.ts on src/bench/): the installed command run in a tiny mode. Checks the
// JSON it prints (every alg x ealg pair, seal and open, our three forms and the peers, summaries with sample
// counts and margins, the fair peer named) and that the packets our engine sealed during the run open in an
// independent node:crypto ESP implementation (test/esp-reference.ts) to the payload; a flipped byte must make
// that fail. No timing is asserted: only shapes, counts and cross-checks.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allCombinations, expandKeys, initSync, type EncryptionAlgorithm, type IntegrityAlgorithm } from '../src/index.js';
import { buildProgram, type BenchArgs } from '../src/cli/program.js';
import { type BenchReport } from '../src/cli/bench.js';
import { refOpen } from './esp-reference.js';

initSync();
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), 'bench', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

let report: BenchReport;

test('bench --json --packets: every combination, seal and open, our three forms next to node:crypto per packet and reuse', () => {
  const r = cli('--json', '--packets', '--sizes', '64,600', '--rounds', '3', '--sample-ms', '1', '--warmup-ms', '1');
  assert.is(r.status, 0, r.stderr);
  report = JSON.parse(r.stdout) as BenchReport;
  assert.is(report.tool, 'ipsec-3gpp bench');
  assert.equal(report.options.sizes, [64, 600]);
  assert.is(report.options.rounds, 3);
  assert.ok(report.indicative, 'fewer than 10 rounds is labelled indicative');
  assert.ok(report.peers.includes('node:crypto per packet') && report.peers.includes('node:crypto reuse'));
  const combos = allCombinations();
  assert.is(combos.length, 8);
  assert.is(report.cases.length, combos.length * 2 * 2);
  for (const { alg, ealg } of combos) {
    for (const size of [64, 600]) {
      for (const direction of ['seal', 'open'] as const) {
        const c = report.cases.find((x) => x.alg === alg && x.ealg === ealg && x.size === size && x.direction === direction);
        assert.ok(c, `${direction} ${ealg}+${alg} @${size}`);
        const aead = ealg === 'aes-gcm' || alg === 'aes-gmac';
        assert.is(c!.fairPeer, aead ? 'node:crypto per packet' : 'node:crypto reuse', 'node:crypto has no GCM reuse');
        const ours = c!.rows.filter((x) => x.ours).map((x) => x.impl);
        assert.equal(ours, direction === 'seal'
          ? ['ipsec-3gpp seal(p, 17)', 'ipsec-3gpp seal(p, 17, out)', 'ipsec-3gpp sealBatch(16)']
          : ['ipsec-3gpp open(pk)', 'ipsec-3gpp open(pk, out)', 'ipsec-3gpp openBatch(16)']);
        assert.is(c!.rows.some((x) => x.impl === 'node:crypto reuse'), !aead);
        for (const row of c!.rows) {
          const s = row.opsPerSecond;
          assert.is(s.samples, 3, `${row.impl}: one sample per round`);
          assert.ok(s.median > 0 && s.min <= s.low && s.low <= s.median && s.median <= s.high && s.high <= s.max, `${row.impl}: ordered summary`);
          assert.ok(Number.isFinite(s.marginPercent));
          if (row.ours) {
            assert.is(row.vsNodePerPacket?.samples, 3);
            assert.is(row.vsBestPeer?.samples, 3);
            if (!aead) assert.is(row.vsNodeReuse?.samples, 3);
          }
        }
        assert.is(c!.rows.find((x) => x.impl.includes('Batch'))!.perCall, 16);
        if (direction === 'seal') {
          assert.ok(c!.checks.includes('ipsec-3gpp packet opens in node:crypto per packet'));
          assert.ok(c!.checks.includes('node:crypto per packet packet opens in ipsec-3gpp'));
        }
      }
    }
  }
});

test('bench --packets: every packet our engine sealed opens in the independent node:crypto reference; a flipped byte does not', () => {
  const packets = report.packets!;
  assert.is(packets.length, 8 * 2);
  for (const p of packets) {
    const k = expandKeys({ alg: p.alg, ealg: p.ealg, ck: new Uint8Array(16).map((_, i) => (i * 13 + 7) & 0xff), ik: new Uint8Array(16).map((_, i) => (i * 5 + 3) & 0xff) });
    assert.is(p.encKey, Buffer.from(k.encKey).toString('hex'), 'Annex I keys of the run');
    const sa = { spi: p.spi, alg: p.alg as IntegrityAlgorithm as 'null', ealg: p.ealg as EncryptionAlgorithm as 'null', encKey: unhex(p.encKey), authKey: unhex(p.authKey), ...(p.salt ? { salt: unhex(p.salt) } : {}) };
    const packet = unhex(p.packet);
    const got = refOpen(sa, packet);
    assert.is(got.spi, p.spi);
    assert.is(got.nextHeader, 17);
    assert.is(got.payload.toString('hex'), p.payload, `${p.ealg}+${p.alg} @${p.size}`);
    assert.is(p.payload.length / 2, p.size);
    const bad = packet.slice();
    bad[bad.length - 1]! ^= 1;
    assert.throws(() => refOpen(sa, bad), undefined, `${p.ealg}+${p.alg}: a corrupted ICV is refused`);
  }
});

test('bench --peers node: only that peer; tables without --json', () => {
  const r = cli('--peers', 'node', '--combos', 'null+hmac-md5-96', '--sizes', '64', '--ops', 'seal', '--rounds', '2', '--sample-ms', '1', '--warmup-ms', '1');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /seal null\+hmac-md5-96 @64 B: 2 rounds interleaved; fair ratio against node:crypto per packet/);
  assert.match(r.stdout, /indicative only/);
  assert.match(r.stdout, /ipsec-3gpp seal\(p, 17\)/);
  assert.not.match(r.stdout, /node:crypto reuse +\d/);
  assert.match(r.stdout, /Peers: node:crypto per packet\./);
});

test('bench options are checked before anything runs', () => {
  let seen: BenchArgs | undefined;
  const prog = (): ReturnType<typeof buildProgram> => buildProgram({ selfcheck() {}, demo() {}, pcscf() {}, core() {}, ue() {}, bench(a) { seen = a; } }, { exitOverride: true, output: { writeOut() {}, writeErr() {} } });
  prog().parse(['bench', '--sizes', '64,1400', '--combos', 'aes-gcm+null,aes-cbc+hmac-sha-1-96', '--peers', 'node,noble', '--ops', 'open', '--json'], { from: 'user' });
  assert.equal(seen!.sizes, [64, 1400]);
  assert.equal(seen!.combos, [{ alg: 'null', ealg: 'aes-gcm' }, { alg: 'hmac-sha-1-96', ealg: 'aes-cbc' }]);
  assert.equal(seen!.peers, ['node', 'noble']);
  assert.equal(seen!.ops, ['open']);
  assert.is(seen!.json, true);
  seen = undefined;
  prog().parse(['bench'], { from: 'user' });
  assert.equal(seen!.sizes, [64, 600, 1400]);
  assert.is(seen!.combos, undefined, 'default: every combination');
  for (const bad of [['--sizes', '0'], ['--sizes', '64,64'], ['--sizes', '99999'], ['--combos', 'aes-gcm+hmac-sha-1-96'], ['--peers', 'openssl'], ['--ops', 'seal,seal'], ['--rounds', '0'], ['--batch', '100000']]) {
    assert.throws(() => prog().parse(['bench', ...bad], { from: 'user' }), (e: Error & { code?: string }) => e.code === 'commander.invalidArgument', bad.join(' '));
  }
  const r = cli('--combos', 'nope');
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /not one of combinations/);
});

test.run();
