// NodeUdpNetwork (src/net/node-udp.ts): a socket's receive buffer (SO_RCVBUF) decides how many datagrams
// survive while its event loop cannot read them, as the soak's P-CSCF found out when its loop stalled on a
// loaded machine. A burst larger than the default buffer is cut short; the same burst into a socket bound
// with `receiveBufferBytes` large enough arrives whole.

import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeUdpNetwork } from '../src/node.js';

const BURST = 1000;
const SIZE = 1000;
// What the kernel allows (it caps SO_RCVBUF there); Linux only.
const rmemMax = ((): number => { try { return Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8')); } catch { return 0; } })();
const rmemDefault = ((): number => { try { return Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8')); } catch { return 0; } })();

/** Sends BURST datagrams in one go to a socket of `rx`, waits, and counts what arrived. */
async function burst(rx: NodeUdpNetwork): Promise<number> {
  const tx = new NodeUdpNetwork();
  const a = await rx.bind('127.0.0.1', 0);
  const b = await tx.bind('127.0.0.1', 0);
  let got = 0;
  a.onMessage(() => { got++; });
  const data = new Uint8Array(SIZE).fill(0x5a);
  for (let i = 0; i < BURST; i++) b.send(data, a.port, '127.0.0.1');
  for (let i = 0; i < 50 && got < BURST; i++) await new Promise((r) => setTimeout(r, 20));
  a.close();
  b.close();
  return got;
}

test('a burst larger than the receive buffer: the default buffer loses part of it, a 4 MiB one none', async () => {
  if (rmemMax < 4 * 1024 * 1024 || rmemDefault === 0 || rmemDefault > 1024 * 1024) {
    console.log(`  (skipped: net.core.rmem_max ${rmemMax}, rmem_default ${rmemDefault}: no room for the comparison here)`);
    return;
  }
  const small = await burst(new NodeUdpNetwork());
  const large = await burst(new NodeUdpNetwork({ receiveBufferBytes: 4 * 1024 * 1024 }));
  assert.ok(small < BURST, `the default buffer (${rmemDefault} bytes) held all ${BURST} datagrams of ${SIZE} bytes`);
  assert.is(large, BURST, `a 4 MiB buffer received ${large} of ${BURST}`);
});

test.run();
