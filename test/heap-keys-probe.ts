// Child process of test/heap-keys.test.ts (run with `node --expose-gc --import tsx`): a whole life of the
// demo network, then a search of what it left behind.
//
// startNetwork() over real UDP with subscriber keys drawn at random here, two UEs (alice on aes-gcm,
// bob on hmac-sha-1-96 + aes-cbc), SUBSCRIBE, PUBLISH and NOTIFY over ESP, de-registration of both, and
// close(). The caller keeps the network object and the registration results, as an application would.
// Then, after a full garbage collection:
//   - WASM memory is searched for K, OPc, CK, IK, RES and the GCM nonce prefixes (salt || SPI);
//   - every ArrayBuffer and typed array of the JS heap (found with the inspector's Runtime.queryObjects,
//     which collects garbage first) is searched for the same bytes;
//   - a V8 heap snapshot is written to the path given as argv[2], for the parent to search its strings.
// Two controls show that the searches can find what they look for: WASM memory is searched once while
// the network is live (K, OPc and the CKs must be found then), and a canary secret is kept reachable on
// purpose as bytes and as a hex string (both searches must find it).
//
// The probe must not itself hold the secrets it looks for: every needle is kept as (value xor mask, mask),
// two random arrays neither of which contains the secret, and compared as such. Output: one JSON line.

import { Session } from 'node:inspector/promises';
import { writeHeapSnapshot } from 'node:v8';
import { Milenage, expandKeys, initSync } from '../src/index.js';
import { startNetwork } from '../src/ims/scenario.js';
import { wasmMemories } from '../src/internal/wasm.js';
import { NodeUdpNetwork } from '../src/net/node-udp.js';

interface Masked { mask: number[]; masked: number[] }

const needles: Record<string, Masked> = {};
const random = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n));
/** Records `secret` as a needle and zeroes it. */
function remember(name: string, secret: Uint8Array): void {
  const mask = Array.from(random(secret.length));
  needles[name] = { mask, masked: Array.from(secret, (b, i) => b ^ mask[i]!) };
  secret.fill(0);
}
const unmask = (m: Masked): Uint8Array => Uint8Array.from(m.masked, (b, i) => b ^ m.mask[i]!);

/** Searches `bytes` for every needle; returns the names found. */
function search(bytes: Uint8Array, list: Record<string, Masked>): string[] {
  const found: string[] = [];
  for (const [name, { mask, masked }] of Object.entries(list)) {
    const n = mask.length;
    outer: for (let i = 0; i + n <= bytes.length; i++) {
      for (let j = 0; j < n; j++) if ((bytes[i + j]! ^ mask[j]!) !== masked[j]) continue outer;
      found.push(name);
      break;
    }
  }
  return found;
}

initSync();
{
  const bytes = random(16);
  const mask = Array.from(random(16));
  needles['canary'] = { mask, masked: Array.from(bytes, (b, i) => b ^ mask[i]!) };
  (globalThis as Record<string, unknown>)['canary'] = { bytes, hex: Buffer.from(bytes).toString('hex') };
}
remember('K', random(16));
remember('OP', random(16));
{
  const m = new Milenage({ k: unmask(needles['K']!), op: unmask(needles['OP']!) });
  remember('OPc', m.opc);
  m.destroy();
}
const credentials = (): { k: Uint8Array; op: Uint8Array } => ({ k: unmask(needles['K']!), op: unmask(needles['OP']!) });

const n = await startNetwork({ net: new NodeUdpNetwork(), policy: { defaultMode: 'ipsec' }, credentials });
const vectors: Array<{ ck: Masked; ik: Masked }> = [];
let count = 0;
const vector = n.hss.vector.bind(n.hss);
n.hss.vector = (impi, rand) => {
  const av = vector(impi, rand);
  const i = count++;
  // Copies: the S-CSCF keeps the vector's own arrays (until the nonce is answered).
  remember(`CK#${i}`, av.ck.slice());
  remember(`IK#${i}`, av.ik.slice());
  remember(`RES#${i}`, av.xres.slice());
  vectors.push({ ck: needles[`CK#${i}`]!, ik: needles[`IK#${i}`]! });
  return av;
};

const alice = await n.ue({ user: 'alice', release: 'later', accessNetwork: 'lte', algorithms: [{ alg: 'null', ealg: 'aes-gcm' }] });
const bob = await n.ue({ user: 'bob', release: 'later', accessNetwork: 'lte', algorithms: [{ alg: 'hmac-sha-1-96', ealg: 'aes-cbc' }] });
const results = [await alice.register(), await bob.register()];
if (results.some((r) => r.status !== 200)) throw new Error(`registration failed: ${results.map((r) => r.status).join(', ')}`);
// The GCM nonces of alice's set: salt || SPI (the explicit IV is SPI || sequence number, assembly/esp.ts).
{
  const v = vectors[0]!;
  const { encKey, authKey, salt } = expandKeys({ alg: 'null', ealg: 'aes-gcm', ck: unmask(v.ck), ik: unmask(v.ik) });
  encKey.fill(0);
  authKey.fill(0);
  for (const sa of results[0]!.set!.sas) {
    const nonce = new Uint8Array(8);
    nonce.set(salt!, 0);
    new DataView(nonce.buffer).setUint32(4, sa.spi);
    remember(`GCM nonce ${sa.name}`, nonce);
  }
  salt!.fill(0);
}
const notified = new Promise<void>((resolve) => { bob.onNotify = () => resolve(); });
await bob.subscribe(`sip:alice@${n.realm}`);
await notified;
const second = new Promise<void>((resolve) => { bob.onNotify = () => resolve(); });
await alice.publish('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@x"><tuple id="t"><status><basic>open</basic></status></tuple></presence>');
await second;
// Both WASM modules' memories (the core's; the AKA module's, where the HSS keeps K and OPc), as views.
const searchWasm = (): string[] => [...new Set(wasmMemories().flatMap((m) => search(m, needles)))];
const wasmLive = searchWasm();
for (const ue of [alice, bob]) {
  const r = await ue.deregister();
  if (r.status !== 200) throw new Error(`de-registration failed: ${r.status}`);
}
n.close();
await new Promise((resolve) => setTimeout(resolve, 100));
// Kept, as an application would keep them.
(globalThis as Record<string, unknown>)['keptByTheApplication'] = { n, alice, bob, results };

(globalThis as { gc?: () => void }).gc?.();
const wasmHits = searchWasm();

// Every ArrayBuffer and typed array on the JS heap (WASM memory excluded: searched above).
(globalThis as Record<string, unknown>)['probeState'] = { wasm: wasmMemories()[0]!.buffer, needles, search };
const session = new Session();
session.connect();
// Runtime.* results, typed by hand (the @types/node overloads do not cover every method).
const post = (method: string, params: object): Promise<Record<string, any>> => session.post(method, params) as unknown as Promise<Record<string, any>>;
const jsHits = new Set<string>();
const kinds: Record<string, string[]> = {};
for (const proto of ['ArrayBuffer.prototype', 'Object.getPrototypeOf(Uint8Array.prototype)']) {
  const { result } = await post('Runtime.evaluate', { expression: proto, objectGroup: 'probe' });
  const { objects } = await post('Runtime.queryObjects', { prototypeObjectId: result.objectId, objectGroup: 'probe' });
  const { result: found, exceptionDetails } = await post('Runtime.callFunctionOn', {
    objectId: objects.objectId, objectGroup: 'probe', returnByValue: true,
    functionDeclaration: `function () {
      const { wasm, needles, search } = globalThis.probeState;
      const hits = {};
      for (const o of this) {
        // The prototypes themselves (Uint8Array.prototype, ...) are in the list too.
        if (!(o instanceof ArrayBuffer) && !ArrayBuffer.isView(o)) continue;
        const buf = o instanceof ArrayBuffer ? o : o.buffer;
        if (buf === wasm) continue;
        const bytes = o instanceof ArrayBuffer ? new Uint8Array(o) : new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
        for (const name of search(bytes, needles)) (hits[name] ??= []).push(o.constructor.name + '(' + bytes.length + ')');
      }
      return hits;
    }`,
  });
  if (exceptionDetails) throw new Error(`heap search failed: ${JSON.stringify(exceptionDetails)}`);
  for (const [name, where] of Object.entries(found.value as Record<string, string[]>)) {
    jsHits.add(name);
    (kinds[name] ??= []).push(...where);
  }
}
await post('Runtime.releaseObjectGroup', { objectGroup: 'probe' });
session.disconnect();
delete (globalThis as Record<string, unknown>)['probeState'];

const snapshot = process.argv[2];
if (snapshot) writeHeapSnapshot(snapshot);
process.stdout.write(`${JSON.stringify({ needles, wasmLive, wasm: wasmHits, js: [...jsHits], jsWhere: kinds })}\n`);
process.exit(0);
