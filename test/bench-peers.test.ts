// The benchmark's peers (src/bench/esp-peers.ts) are real ESP implementations, not just timing loops: for
// every alg x ealg pair and every peer installed here, a run of packets of varied sizes (so the kept CBC
// streams of node:crypto reuse chain across packets, and the cloned HMAC states of noble are reused)
// opens in the engine, the engine's packets open in the peer, and a corrupted ICV is refused.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EspSa, allCombinations, expandKeys, initSync } from '../src/index.js';
import { PEER_IDS, loadPeers } from '../src/bench/esp-peers.js';

initSync();

const ck = Uint8Array.from({ length: 16 }, (_, i) => i * 29 + 1);
const ik = Uint8Array.from({ length: 16 }, (_, i) => i * 17 + 5);
const SPI = 0x4242;

test('every installed peer is found (node:crypto always), and each supports what its library has', async () => {
  const peers = await loadPeers();
  assert.equal(peers.map((p) => p.id), [...PEER_IDS], 'all peers are devDependencies here');
  const k = expandKeys({ alg: 'hmac-md5-96', ealg: 'des-ede3-cbc', ck, ik });
  const spec = { spi: SPI, alg: 'hmac-md5-96' as const, ealg: 'des-ede3-cbc' as const, encKey: k.encKey, authKey: k.authKey };
  const supported = await Promise.all(peers.map(async (p) => (await p.create(spec)) !== undefined));
  // 3DES with HMAC-MD5: only node:crypto (WebCrypto has neither, noble no DES, hash-wasm no cipher).
  assert.equal(supported, [true, true, false, false, false]);
});

for (const { alg, ealg } of allCombinations()) {
  test(`${ealg}+${alg}: every peer's packets open in ipsec-3gpp, ours open in every peer, a bad ICV is refused`, async () => {
    const k = expandKeys({ alg, ealg, ck, ik });
    const spec = { spi: SPI, alg, ealg, encKey: k.encKey, authKey: k.authKey, ...(k.salt ? { salt: k.salt } : {}) };
    const tx = EspSa.outbound({ spi: SPI, alg, ealg, ck, ik });
    let covered = 0;
    for (const peer of await loadPeers()) {
      const sa = await peer.create(spec);
      if (!sa) continue;
      covered++;
      const rx = EspSa.inbound({ spi: SPI, alg, ealg, ck, ik, replayWindow: 1024 });
      for (let i = 0; i < 40; i++) {
        const size = [0, 1, 15, 16, 17, 63, 600, 1400][i % 8]! + (i >> 3);
        const payload = Uint8Array.from({ length: size }, (_, j) => (j * 31 + i) & 0xff);
        const mine = await sa.seal(payload);
        assert.is(mine.length, tx.packetLength(size), `${peer.name}: packet length`);
        const opened = rx.open(mine);
        assert.ok(opened, `${peer.name} packet ${i}`);
        assert.equal(Array.from(opened!.payload), Array.from(payload), `${peer.name} packet ${i} (${size} B) opens in ipsec-3gpp`);
        const ours = tx.seal(payload);
        assert.equal(Array.from(await sa.open(ours)), Array.from(payload), `ours (${size} B) opens in ${peer.name}`);
        if (i % 10 === 0) {
          const bad = ours.slice();
          bad[bad.length - 1]! ^= 0x80;
          let refused = false;
          try {
            await sa.open(bad);
          } catch {
            refused = true;
          }
          assert.ok(refused, `${peer.name} refuses a corrupted ICV`);
          // A refused packet must not disturb a kept stream: the next good packet still opens.
        }
      }
      rx.delete();
    }
    assert.ok(covered >= 2, 'node:crypto at least, per packet and (or, for GCM) more');
    tx.delete();
  });
}

test.run();
