// A UE registering with a P-CSCF over ESP: SM1 (unprotected REGISTER with Security-Client), the 401 with
// the AKA challenge and Security-Server, the USIM's answer (Milenage), SM7 over the new SAs with
// Security-Verify, the 200 OK (TS 33.203 7.1-7.4, TS 24.229 5.1.1); then a MESSAGE to itself over the SAs
// and the de-registration. It prints each message with the SA it went over, the SA set and the answers.
//
// Without --pcscf it starts the project's P-CSCF and core in this process (127.0.0.1, real UDP) with one
// subscriber of the given IMPI/K/OP. With --pcscf it registers with that P-CSCF: a real one (Kamailio's
// ims_ipsec_pcscf, OpenSIPS, a test system) or `npx ipsec-3gpp pcscf`; test/kernel/kamailio.ts registers
// this same UeClient through a Kamailio 5.6 P-CSCF in a Linux guest. The mode: `udp-enc-tun` (RFC 3948 ESP
// in UDP, unprivileged), `trans` (ESP as IP protocol 50: Linux, root or CAP_NET_RAW, the native addon),
// `both` (offer both; the P-CSCF picks, UDP-enc-tun behind a NAT). `npx ipsec-3gpp ue` is the same as a CLI.
// Run it from the package directory (the imports resolve to dist/):
//   npm run build && node --import tsx examples/register-ue.ts
//   node --import tsx examples/register-ue.ts --pcscf 192.0.2.1:5060 --encap-port 4500 --local 192.0.2.10 --port 5060 \
//     --impi 001010000000001@ims.mnc001.mcc001.3gppnetwork.org --k <hex> --op <hex> --mode both

import { parseArgs } from 'node:util';
import { init } from 'ipsec-3gpp';
import { UeClient, startNetwork, udpEncapWire, type ImsNetwork, type RoleWire, type TraceEvent } from 'ipsec-3gpp/ims';
import { NodeUdpNetwork, transportModeWire } from 'ipsec-3gpp/node';

const { values: o } = parseArgs({
  options: {
    pcscf: { type: 'string' },                     // host:port of the P-CSCF's unprotected port
    'encap-port': { type: 'string', default: '4500' },
    local: { type: 'string', default: '127.0.0.1' }, // this UE's address (the P-CSCF must reach it)
    port: { type: 'string', default: '0' },          // its unprotected SIP port (Kamailio 5.6 wants 5060)
    // TS 35.208 test set 1 K and OP: test values, as on a test SIM
    impi: { type: 'string', default: '001010000000001@ims.mnc001.mcc001.3gppnetwork.org' },
    k: { type: 'string', default: '465b5ce8b199b49faa5f0a2ee238a6bc' },
    op: { type: 'string', default: 'cdc202d5123e20f62b6d676ac72cb318' },
    mode: { type: 'string', default: 'udp-enc-tun' },
  },
});
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const realm = o.impi.split('@')[1]!;
const impu = `sip:${o.impi}`;
if (!['udp-enc-tun', 'trans', 'both'].includes(o.mode)) throw new Error(`--mode: udp-enc-tun, trans or both, not ${o.mode}`);
/** The wires for --mode: a role offers (UE) or selects (P-CSCF) exactly the modes it has a wire for. */
const wires = (encapPort?: number): RoleWire[] => [
  ...(o.mode === 'udp-enc-tun' ? [] : [transportModeWire()]),
  ...(o.mode === 'trans' ? [] : [udpEncapWire(encapPort === undefined ? {} : { port: encapPort })]),
];

await init();
let network: ImsNetwork | undefined;
let pcscf: { address: string; port: number; encapPort: number };
if (o.pcscf === undefined) {
  // The project's P-CSCF and core, with this subscriber in its HSS.
  network = await startNetwork({ net: new NodeUdpNetwork(), address: o.local, realm, pcscfWire: wires(0) }); // any free encapsulation port
  network.hss.addSubscriber({ impi: o.impi, k: hex(o.k), op: hex(o.op) });
  pcscf = { address: network.address, port: network.pcscf.port, encapPort: network.pcscf.encapPort ?? 4500 };
  console.log(`the project's P-CSCF on ${pcscf.address}:${pcscf.port} (UDP encapsulation port ${pcscf.encapPort})`);
} else {
  const at = o.pcscf.lastIndexOf(':');
  pcscf = { address: o.pcscf.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(o.pcscf.slice(at + 1)), encapPort: Number(o['encap-port']) };
}

const pcscfPorts = new Set([pcscf.port, pcscf.encapPort]);
const ue = await UeClient.start({
  net: new NodeUdpNetwork(), address: o.local, port: Number(o.port), name: 'UE',
  impi: o.impi, impu, realm, k: hex(o.k), op: hex(o.op), pcscf, wire: wires(),
  names: (a, p) => (a === pcscf.address && pcscfPorts.has(p) ? 'P-CSCF' : `${a}:${p}`),
  traceReceived: true, // the ladder shows what came back too
  tracer: (e: TraceEvent) => {
    const m = e.message;
    const line = m.type === 'request' ? `${m.method} ${m.uri}` : `${m.status} ${m.reason}`;
    console.log(`  ${e.from} -> ${e.to}  ${line.padEnd(58)} ${e.sa ? `ESP ${e.sa.name} spi 0x${e.sa.spi.toString(16)}` : 'clear'}`);
  },
});
ue.db.on((set) => { pcscfPorts.add(set.pcscf.portC); pcscfPorts.add(set.pcscf.portS); });
let code = 1;
try {
  const r = await ue.register();
  if (r.status !== 200 || !r.set) {
    console.log(`registration failed: ${r.status} ${r.reason}${r.detail ? ` (${r.detail})` : ''}`);
  } else {
    const s = r.set;
    console.log(`registered: ${s.ealg === 'null' ? 'ESP integrity only' : `ESP encrypted (${s.ealg})`} + ${s.alg}, mode ${s.mode}`);
    console.log(`SAs: UE spi-c 0x${s.ue.spiC.toString(16)} spi-s 0x${s.ue.spiS.toString(16)} port-c ${s.ue.portC} port-s ${s.ue.portS}; ` +
      `P-CSCF spi-c 0x${s.pcscf.spiC.toString(16)} spi-s 0x${s.pcscf.spiS.toString(16)} port-c ${s.pcscf.portC} port-s ${s.pcscf.portS}`);
    if (network) {
      // The P-CSCF's side of the same set: the same SPIs, seen from the other end.
      const theirs = [...network.pcscf.db.all()].find((x) => x.ue.spiC === s.ue.spiC);
      console.log(`the P-CSCF holds the same set: ${theirs !== undefined && theirs.pcscf.spiS === s.pcscf.spiS && theirs.ealg === s.ealg ? 'yes' : 'no'}`);
    }
    const m = await ue.message(impu, 'hello over ESP');
    console.log(`MESSAGE to ${impu}: ${m.status} ${m.reason}`);
    const d = await ue.deregister();
    console.log(`de-registered: ${d.status} ${d.reason}`);
    const { sent, received } = ue.wire.counters;
    console.log(`ESP packets: ${sent} sent, ${received} received`);
    code = m.status === 200 && d.status === 200 ? 0 : 1;
  }
} finally {
  ue.close();
  network?.close();
}
process.exitCode = code;
