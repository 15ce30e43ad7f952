// The project's wire between two network namespaces joined by a veth pair, both ends the project (Linux,
// root; `npm run test:wire`): transport mode as IP protocol 50 with in-process ports and with kernel UDP
// sockets through the TUN path, and UDP-enc-tun over real UDP sockets, for every TS 33.203 combination,
// IPv4 and IPv6; garbage injected on the raw socket is dropped and counted while traffic goes on; the
// routing rules follow the SA sets. Skipped (with a note) where namespaces cannot be made.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COMBOS } from './pair.js';
import { AgentProcess, Netns, canUseNetns, joinVeth } from './netns.js';
import { HOST, payloads, setParams } from './params.js';
import { type Received, type SetParams } from './agent.js';

const why = canUseNetns();
const tag = String(process.pid % 100000);
let nsP: Netns, nsU: Netns, pc: AgentProcess, ue: AgentProcess;

test.before(async () => {
  if (why) return;
  nsP = Netns.create(`i3wp${tag}`);
  nsU = Netns.create(`i3wu${tag}`);
  joinVeth(nsP, nsU, tag);
  pc = new AgentProcess(nsP);
  ue = new AgentProcess(nsU);
  const encap = (h: 'pcscf' | 'ue'): Array<{ address: string; port: number }> => [{ address: HOST[4][h], port: 4500 }, { address: HOST[6][h], port: 4500 }];
  await pc.call('start', { role: 'pcscf', raw: [HOST[4].pcscf, HOST[6].pcscf], tun: true, encap: encap('pcscf') });
  await ue.call('start', { role: 'ue', raw: [HOST[4].ue, HOST[6].ue], tun: true, encap: encap('ue') });
});

test.after(async () => {
  if (why) return;
  if (process.env.WIRE_VERBOSE) console.log('pcscf', JSON.stringify(await pc.call('counters')), '\nue', JSON.stringify(await ue.call('counters')));
  await pc?.close();
  await ue?.close();
  nsP?.destroy();
  nsU?.destroy();
});

async function both(p: SetParams): Promise<void> {
  await pc.call('newSet', p);
  await ue.call('newSet', p);
}

const sorted = (r: Received[]): Received[] => [...r].sort((a, b) => a.payload.localeCompare(b.payload));

async function directExchange(p: SetParams, label: string): Promise<void> {
  await both(p);
  const up = payloads([0, 1, 600, 1400]);
  const down = payloads([3, 600, 1200]);
  await ue.call('sendPort', { sa: 'SA1', payloads: up });
  const atP = await pc.call<Received[]>('take', { n: up.length, timeoutMs: 3000 });
  assert.equal(sorted(atP).map((r) => [r.sa, r.localPort, r.from.port, r.payload]), sorted(up.map((x) => ({ payload: x }) as Received)).map((r) => ['SA1', p.pcscf.portS, p.ue.portC, r.payload]), `${label}: UE -> P-CSCF`);
  await pc.call('sendPort', { sa: 'SA3', payloads: down });
  await pc.call('sendPort', { sa: 'SA2', payloads: down.slice(0, 1) });
  const atU = await ue.call<Received[]>('take', { n: down.length + 1, timeoutMs: 3000 });
  assert.equal(atU.map((r) => r.sa).sort(), ['SA2', 'SA3', 'SA3', 'SA3'], `${label}: P-CSCF -> UE`);
  await ue.call('sendPort', { sa: 'SA4', payloads: up.slice(2, 3) });
  assert.equal((await pc.call<Received[]>('take', { n: 1, timeoutMs: 3000 })).map((r) => [r.sa, r.payload]), [['SA4', up[2]]]);
}

test('transport mode, in-process ports: every combination, IPv4 and IPv6, the four SAs', async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  for (const combo of COMBOS) for (const family of [4, 6] as const) {
    await directExchange(setParams({ family, ...combo, mode: 'trans', replayWindow: 64, ports: 'direct' }), `trans ${combo.alg}/${combo.ealg} v${family}`);
  }
  const c = await pc.call('counters');
  assert.equal(c.dropped, {});
  assert.equal(c.readErrors[0], 0);
});

test('UDP-enc-tun over UDP port 4500, in-process ports: every combination, IPv4 and IPv6', async () => {
  if (why) return;
  for (const combo of COMBOS) for (const family of [4, 6] as const) {
    await directExchange(setParams({ family, ...combo, mode: 'UDP-enc-tun', replayWindow: 64, ports: 'direct' }), `udp-enc-tun ${combo.alg}/${combo.ealg} v${family}`);
  }
  assert.equal((await pc.call('counters')).dropped, {});
});

for (const mode of ['trans', 'UDP-enc-tun'] as const) {
  test(`${mode}, kernel UDP sockets through the TUN: every combination, IPv4 and IPv6, both directions`, async () => {
    if (why) return;
    for (const combo of COMBOS) for (const family of [4, 6] as const) {
      const p = setParams({ family, ...combo, mode, replayWindow: 4096, ports: 'kernel' });
      await both(p);
      await pc.call('bindKernel', { port: p.pcscf.portS });
      await ue.call('bindKernel', { port: p.ue.portC });
      const up = payloads([0, 17, 600, 1400, 3000]);
      await ue.call('sendKernel', { port: p.ue.portC, to: { address: p.pcscfAddress, port: p.pcscf.portS }, payloads: up });
      const atP = await pc.call<Received[]>('take', { n: up.length, timeoutMs: 3000 });
      const label = `${mode} kernel ${combo.alg}/${combo.ealg} v${family}`;
      assert.equal(atP.map((r) => [r.via, r.from.address, r.from.port, r.payload]), up.map((x) => ['kernel', p.ueAddress, p.ue.portC, x]), `${label}: UE -> P-CSCF`);
      const down = payloads([5, 600]);
      await pc.call('sendKernel', { port: p.pcscf.portS, to: { address: p.ueAddress, port: p.ue.portC }, payloads: down });
      const atU = await ue.call<Received[]>('take', { n: down.length, timeoutMs: 3000 });
      assert.equal(atU.map((r) => r.payload), down, `${label}: P-CSCF -> UE`);
    }
    const [cu, cp] = [await ue.call('counters'), await pc.call('counters')];
    assert.equal(cp.dropped, {});
    assert.equal(cu.dropped, {});
    assert.is(cp.rules, 2, 'rules for the current set\'s two outbound source ports only');
  });
}

test('UDP-enc-tun over NativeUdpSocket (the addon\'s batched UDP): every combination, IPv4 and IPv6, against node:dgram', async () => {
  if (why) return;
  // a third agent, in the UE's namespace, whose encapsulation sockets are native, on port 4501
  const nu = new AgentProcess(nsU);
  try {
    await nu.call('start', { role: 'ue', raw: [], encap: [{ address: HOST[4].ue, port: 4501 }, { address: HOST[6].ue, port: 4501 }], nativeUdp: true });
    for (const combo of COMBOS) for (const family of [4, 6] as const) {
      const p = setParams({ family, ...combo, mode: 'UDP-enc-tun', replayWindow: 64, ports: 'direct' });
      await pc.call('newSet', p);
      await nu.call('newSet', p);
      const up = payloads([0, 600, 1400]);
      await nu.call('sendPort', { sa: 'SA1', payloads: up });
      const atP = await pc.call<Received[]>('take', { n: up.length, timeoutMs: 3000 });
      assert.equal(atP.map((r) => r.payload).sort(), [...up].sort(), `native -> dgram ${combo.alg}/${combo.ealg} v${family}`);
      await pc.call('sendPort', { sa: 'SA3', payloads: up }); // to the learned port 4501
      const atU = await nu.call<Received[]>('take', { n: up.length, timeoutMs: 3000 });
      assert.equal(atU.map((r) => r.payload).sort(), [...up].sort(), `dgram -> native ${combo.alg}/${combo.ealg} v${family}`);
    }
    assert.equal((await nu.call('counters')).dropped, {});
  } finally {
    await nu.close();
  }
});

test('garbage on the raw socket and the encapsulation port is dropped and counted; traffic goes on', async () => {
  if (why) return;
  const p = setParams({ family: 4, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', mode: 'trans', replayWindow: 64, ports: 'direct' });
  await both(p);
  const before = (await pc.call('counters')).dropped;
  // From the UE namespace: ESP with an unknown SPI, a truncated ESP header, and RFC 3948 oddities on 4500.
  await ue.call('eval', { code: `
    const { loadNative } = await import('../../src/wire/native.js');
    const n = loadNative();
    const fd = n.rawOpen(4, new Uint8Array([192, 0, 2, 2]));
    n.sendTo(fd, 4, new Uint8Array([192, 0, 2, 1]), new Uint8Array([0, 0, 0x12, 0x34, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    n.sendTo(fd, 4, new Uint8Array([192, 0, 2, 1]), new Uint8Array([1, 2, 3]));
    n.closeFd(fd);
    const dgram = await import('node:dgram');
    const s = dgram.createSocket('udp4');
    await new Promise((r) => s.bind(0, '192.0.2.2', r));
    for (const m of [[0xff], [0, 0, 0, 0, 1, 2], [9, 9]]) await new Promise((r) => s.send(Buffer.from(m), 4500, '192.0.2.1', r));
    s.close();
  ` });
  await new Promise((r) => setTimeout(r, 200));
  const after = (await pc.call('counters')).dropped;
  const delta = (k: string): number => (after[k] ?? 0) - (before[k] ?? 0);
  assert.equal([delta('unknown-spi'), delta('esp-malformed'), delta('nat-keepalive'), delta('non-esp-marker'), delta('encap-malformed')], [1, 1, 1, 1, 1]);
  await directExchange(setParams({ family: 4, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', mode: 'trans', replayWindow: 64, ports: 'direct' }), 'after garbage');
});

test('routing rules follow the SA sets: removed with the set, none left after close', async () => {
  if (why) return;
  const p = setParams({ family: 6, alg: 'null', ealg: 'aes-gcm', mode: 'trans', replayWindow: 64, ports: 'kernel' });
  await both(p);
  const rules = nsU.ip('-6', 'rule', 'show');
  assert.ok(rules.includes(`sport ${p.ue.portC}`) && rules.includes(`sport ${p.ue.portS}`), rules);
  await ue.call('eval', { code: 'agent.deleteSet();' });
  assert.not.ok(nsU.ip('-6', 'rule', 'show').includes(`sport ${p.ue.portC}`));
});

test.run();
