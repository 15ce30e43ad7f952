// Child process of test/wire-processor.test.ts: tries to open a TransportWire (optionally with a TUN device)
// and prints {"code", "message"} of the error, or {"ok": true}. Run with dropped capabilities or a missing
// addon to see the typed error a user gets.

import { SaDatabase, initSync } from '../../src/index.js';
import { TransportWire, WireProcessor } from '../../src/node.js';

initSync();
const tun = process.argv.includes('--tun');
const ai = process.argv.indexOf('--address');
const address = ai >= 0 ? process.argv[ai + 1]! : '127.0.0.1';
const processor = new WireProcessor({ db: new SaDatabase({ role: 'ue', autoExpire: false }) });
try {
  const w = TransportWire.open({ processor, addresses: [address], ...(tun ? { tun: { name: `probe${process.pid % 10000}` } } : {}) });
  w.close();
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  const err = e as { code?: string; message?: string; name?: string };
  console.log(JSON.stringify({ name: err.name, code: err.code, message: err.message }));
}
