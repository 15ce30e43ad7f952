// Being a P-CSCF for SIPp: the project's P-CSCF and core (S-CSCF with an HSS) built from the package's
// classes, with `noIpsec`: SIPp does IMS AKA but no ESP, so its protected-phase REGISTER (SM7) is accepted
// in clear on the listening port (UDP or TCP), while its Security-Client, Security-Verify and Digest
// response are still checked (TS 33.203 7.2, RFC 3329 2.3.1). When `sipp` is installed (Debian package
// sip-tester) it runs the scenarios of this folder against itself, UDP then TCP: register-aka.xml
// (registration and de-registration, 401 / 200 twice) and register-aka-tampered.xml (a Security-Verify bid
// down to ealg=null: 494), and prints SIPp's verdicts; without sipp it prints the command and keeps serving
// until Ctrl-C. `ipsec-3gpp pcscf --no-ipsec` is the same as a CLI (README.md here has the commands).
// Run it from the package directory (the imports resolve to dist/):
//   npm run build && node --import tsx examples/sipp/pcscf-for-sipp.ts [--port 5070]

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Hss, init } from 'ipsec-3gpp';
import { ImsCore, PcscfProxy, udpEncapWire } from 'ipsec-3gpp/ims';
import { NodeTcpNetwork, NodeUdpNetwork } from 'ipsec-3gpp/node';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
const here = fileURLToPath(new URL('.', import.meta.url));
const address = '127.0.0.1';
const realm = 'ims.example.org';
const impi = `sipp@${realm}`;
// The K and OP of the scenarios' [authentication] keywords: the ASCII of 'IMSakaKey4SIPp01' and
// 'OperatorVariant1' (SIPp 3.6.1 garbles keys with some bytes, see README.md here). AMF 8000 is what SIPp checks.
const k = new TextEncoder().encode('IMSakaKey4SIPp01');
const op = new TextEncoder().encode('OperatorVariant1');

await init();
const net = new NodeUdpNetwork();
const hss = new Hss();
hss.addSubscriber({ impi, k, op, amf: Uint8Array.of(0x80, 0x00) });
const core = await ImsCore.start({ net, address, realm, hss });
// SIPp 3.6.1 hashes the AKA RES as a C string: a RES with a zero byte (one challenge in 32) gives a wrong
// Digest response. This S-CSCF draws another vector instead (later SIPp versions need no such thing).
const challenge = core.scscf.challenge.bind(core.scscf);
core.scscf.challenge = (who, o) => {
  for (;;) {
    const c = challenge(who, o);
    if (!c.av.xres.includes(0)) return c;
    core.scscf.forget(c.nonce);
  }
};
const pcscf = await PcscfProxy.start({
  net, address, port: Number(values.port), core: { address, port: core.port },
  tcp: { net: new NodeTcpNetwork() },      // SIP over TCP on the same port
  wire: [udpEncapWire({ port: 0 })],        // a P-CSCF needs a wire for its SAs, even if SIPp never uses them
  noIpsec: true,
  unprotectedRegisterRate: false,            // every SIPp call comes from one address
});
core.trustProxy(pcscf.coreSocket.address, pcscf.coreSocket.port);
pcscf.events.registered = (e) => console.log(`  P-CSCF: ${e.key} registered (${e.set.ealg === 'null' ? 'integrity-only' : e.set.ealg} + ${e.set.alg} SAs, unused: --no-ipsec)`);
pcscf.events.aborted = (e) => console.log(`  P-CSCF: registration of ${e.key} aborted: ${e.reason}`);
console.log(`P-CSCF on ${address}:${pcscf.port} (UDP and TCP), core on ${address}:${core.port}, subscriber ${impi}`);

const dir = mkdtempSync(join(tmpdir(), 'sipp-example-'));
const users = join(dir, 'users.csv');
writeFileSync(users, `SEQUENTIAL\nsipp;${realm}\n`); // field0;field1: user part and realm of the IMPI
const sippArgs = (scenario: string, transport: 'u1' | 't1'): string[] => [
  `${address}:${pcscf.port}`, '-sf', join(here, scenario), '-inf', users, '-au', '[field0]@[field1]',
  '-t', transport, '-i', address, '-p', '0', '-m', '1', '-nostdin', '-timeout', '20', '-timeout_error',
];

const stop = (): void => { pcscf.close(); core.close(); rmSync(dir, { recursive: true, force: true }); };
const present = spawnSync('sipp', ['-v']).error === undefined;
if (!present) {
  console.log('sipp is not installed (Debian: apt-get install sip-tester). With it, in another shell:');
  console.log(`  sipp ${sippArgs('register-aka.xml', 'u1').join(' ')}`);
  console.log('Ctrl-C stops the P-CSCF.');
  process.on('SIGINT', () => { stop(); process.exit(0); });
} else {
  let failed = 0;
  for (const transport of ['u1', 't1'] as const) {
    for (const [scenario, expects] of [['register-aka.xml', '401, 200, 401, 200'], ['register-aka-tampered.xml', '401, 494']]) {
      console.log(`sipp ${scenario} over ${transport === 'u1' ? 'UDP' : 'TCP'} (expects ${expects}):`);
      const child = spawn('sipp', sippArgs(scenario!, transport), { cwd: dir, stdio: 'ignore' });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      console.log(`  SIPp: ${code === 0 ? 'passed' : 'FAILED'} (exit ${code})`);
      if (code !== 0) failed++;
    }
  }
  console.log(`registrations left in the core: ${core.registrations.size}`);
  stop();
  process.exitCode = failed === 0 ? 0 : 1;
}
