// CPU time per MESSAGE (or per registration, --reg) with every role in one thread (startNetwork over the
// in-memory network: UEs, the P-CSCF and the core), for before/after comparisons of the code
// (bench/pcscf.ts measures the P-CSCF process as users run it; this one has no scheduling between
// processes in its figure, so two builds compare more steadily on a shared machine). Each MESSAGE:
// UE -> P-CSCF (SA1) -> core -> P-CSCF -> UE (SA2), the 200 back the same way: ESP seal and open, SIP parse
// and serialise, transactions, at each element. Prints the median and minimum of 5 rounds of 2000 MESSAGEs
// (8 outstanding; --rounds N for another count). With --reg: UEs register (IMS AKA, SA set, reg-event subscriptions) and de-register,
// 16 at a time, 5 rounds of 160; the UE side (its Milenage, ESP, SIP) is in the figure too.
//
//   node scripts/build.mjs --quiet && node --import tsx bench/pcscf-cpu.ts [--dist DIR] [--reg] [--rounds N]   (DIR: a build's dist/)

import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const i = process.argv.indexOf('--dist');
const dist = pathToFileURL(`${i > 0 ? process.argv[i + 1]! : join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')}/`);
const reg = process.argv.includes('--reg');
const ri = process.argv.indexOf('--rounds');
const rounds = ri > 0 ? Number(process.argv[ri + 1]) : 5;
const idx = await import(new URL('index.js', dist).href) as typeof import('../src/index.js');
const ims = await import(new URL('ims/index.js', dist).href) as typeof import('../src/ims/index.js');
idx.initSync();
const n = await ims.startNetwork({ net: new ims.MemoryNetwork(), record: 0, pcscfLimits: { unprotectedRegisterRate: false, unprotectedRegisterRatePerImpi: false } });
const ues: Array<Awaited<ReturnType<typeof n.ue>>> = [];
for (const user of reg ? Array.from({ length: 16 }, (_, k) => `u${k}`) : ['alice', 'bob']) {
  const ue = await n.ue({ user, release: 6, accessNetwork: 'lte' });
  if (!reg && (await ue.register()).status !== 200) throw new Error(`${user} did not register`);
  ues.push(ue);
}
const to = `sip:bob@${n.realm}`;
const messages = async (k: number): Promise<void> => {
  for (let j = 0; j < k; j++) {
    const rs = await Promise.all(Array.from({ length: 8 }, () => ues[0]!.message(to, 'x')));
    if (rs.some((r) => r.status !== 200)) throw new Error('a MESSAGE failed');
  }
};
const registrations = async (k: number): Promise<void> => {
  for (let j = 0; j < k; j++) {
    await Promise.all(ues.map(async (ue) => {
      if ((await ue.register()).status !== 200) throw new Error('a registration failed');
      if ((await ue.deregister()).status !== 200) throw new Error('a de-registration failed');
    }));
  }
};
const [batch, per, unit, count] = reg ? [registrations, 10, 'registration (with de-registration)', 160] : [messages, 250, 'MESSAGE', 2000];
await batch(reg ? 5 : 200); // warm-up
const us: number[] = [];
for (let r = 0; r < rounds; r++) {
  const c0 = process.cpuUsage();
  await batch(per);
  const c = process.cpuUsage(c0);
  us.push((c.user + c.system) / count);
}
us.sort((a, b) => a - b);
console.log(`${dist.pathname}: ${us[rounds >> 1]!.toFixed(0)} us CPU per ${unit} (median of ${rounds} rounds of ${count}; min ${us[0]!.toFixed(0)}, max ${us[rounds - 1]!.toFixed(0)}), every role in one thread`);
n.close();
process.exit(0);
