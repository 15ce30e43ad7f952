// Registration lifecycle of a UE over real UDP sockets (issue 16, items 1-5): sockets closed with the sets
// that own them over many register/de-register cycles, a lost 200 to a de-REGISTER answered again from the
// P-CSCF's kept set, the state after de-registration ("not registered", typed errors at once), challenged
// de-registration over a new set, and resynchronisation during re-registration after an HSS SQN reset.

import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initSync } from '../src/index.js';
import { demoKeys, startNetwork, type ImsNetwork, type TraceEvent } from '../src/ims/index.js';
import { NodeUdpNetwork } from '../src/node.js';

initSync();

const FAST = { t1: 25, t2: 100, t4: 200 };
const fds = (): number => readdirSync('/proc/self/fd').length;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function settle(n: ImsNetwork): Promise<void> {
  // The P-CSCF keeps an ended registration's sets for 64*T1 (1.6 s here).
  for (let i = 0; i < 40 && n.pcscf.db.size > 0; i++) await sleep(100);
}

test('1000 register/de-register cycles: no socket, SA set or registration left behind; heap flat', async () => {
  // One UE registering as fast as it can: the P-CSCF's limits on unprotected REGISTERs are off for it.
  // startNetwork() records nothing here (record: 0): what is measured is the roles' own state.
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST, record: 0, pcscfLimits: { unprotectedRegisterRate: false, unprotectedRegisterRatePerImpi: false } });
  try {
    const ue = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    const cycle = async (): Promise<void> => {
      assert.is((await ue.register()).status, 200);
      assert.is((await ue.deregister()).status, 200);
    };
    for (let i = 0; i < 20; i++) await cycle(); // warm up
    await settle(n);
    gc();
    const fd0 = fds();
    const heap0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1000; i++) await cycle();
    await settle(n);
    gc();
    assert.is(fds(), fd0, 'open file descriptors');
    assert.is(ue.clientPorts, 0, 'no port_uc open while not registered');
    assert.is(ue.db.size, 0);
    assert.is(n.pcscf.db.size, 0);
    assert.is(n.pcscf.sec.attempts(`alice@${n.realm}`).length, 0);
    assert.is(n.core.registrations.size, 0);
    gc();
    const grown = process.memoryUsage().heapUsed - heap0;
    assert.ok(grown < 4 * 1024 * 1024, `heap grew by ${grown} bytes over 1000 cycles`);
  } finally {
    n.close();
  }
});

test('a lost 200 to the de-REGISTER: the UE retransmits over SA1 and gets the 200 again from the kept set', async () => {
  const net = new NodeUdpNetwork();
  // No reg-event traffic of the UE's own, so that the one datagram lost is the 200.
  const n = await startNetwork({ net, timers: FAST, autoRefresh: false });
  try {
    const ue = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    assert.is((await ue.register()).status, 200);
    let lost = 0;
    // The 200 to the de-REGISTER is lost once on its way from the P-CSCF (ESP over SA3 toward port_uc,
    // UDP-encapsulated between the encapsulation ports).
    const spi3 = (): number | undefined => ue.current?.sa('SA3').spi;
    net.drop = (w) => {
      const spi = w.data.length >= 8 ? new DataView(w.data.buffer, w.data.byteOffset).getUint32(0) : 0;
      if (lost === 0 && w.srcPort === n.pcscf.encapPort && w.dstPort === ue.encapPort && spi === spi3() && n.core.registrations.size === 0) { lost++; return true; }
      return false;
    };
    const r = await ue.deregister();
    assert.is(lost, 1);
    assert.is(r.status, 200, r.detail);
    assert.ok(ue.node.tx.retransmissions >= 1);
    assert.is(n.core.registrations.size, 0);
    await settle(n);
    assert.is(n.pcscf.db.size, 0, 'and the set goes after 64*T1');
  } finally {
    n.close();
  }
});

test('the network\'s reg-event "terminated" overtaking the 200 to the UE\'s own de-REGISTER is not a network-initiated de-registration', async () => {
  const net = new NodeUdpNetwork();
  const n = await startNetwork({ net, timers: FAST }); // reg-event subscriptions on (autoRefresh)
  try {
    const ue = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    assert.is((await ue.register()).status, 200);
    for (let i = 0; i < 40 && n.core.reg.size < 2; i++) await new Promise((r) => setTimeout(r, 25));
    const events: string[] = [];
    ue.events.deregistered = (e) => events.push(e.by);
    let deregistering = false;
    let lost = 0;
    // The core's first 200 to the de-REGISTER is lost on its way to the P-CSCF, so its NOTIFY "terminated"
    // reaches the UE first; the P-CSCF's retransmission gets the 200 again.
    net.drop = (w) => {
      const t = new TextDecoder('latin1').decode(w.data.subarray(0, 400));
      if (deregistering && lost === 0 && w.srcPort === n.core.port && t.startsWith('SIP/2.0 200') && /CSeq: \d+ REGISTER/i.test(t)) { lost++; return true; }
      return false;
    };
    deregistering = true;
    const r = await ue.deregister();
    assert.is(r.status, 200, r.detail);
    assert.is(lost, 1);
    assert.equal(events, ['ue'], 'one de-registration, by the UE');
  } finally {
    n.close();
  }
});

test('the P-CSCF ends a registration once when the core\'s reg-event "terminated" overtakes the 200 of the UE\'s de-REGISTER (one deregistered event, as when the 200 comes first)', async () => {
  for (const overtake of [false, true]) {
    const net = new NodeUdpNetwork();
    const n = await startNetwork({ net, timers: FAST });
    try {
      const ue = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
      assert.is((await ue.register()).status, 200);
      for (let i = 0; i < 40 && n.core.reg.size < 2; i++) await new Promise((r) => setTimeout(r, 25));
      const ended: string[] = [];
      n.pcscf.events.deregistered = (e) => ended.push(e.key);
      let deregistering = false;
      let lost = 0;
      net.drop = (w) => {
        const t = new TextDecoder('latin1').decode(w.data.subarray(0, 400));
        if (overtake && deregistering && lost === 0 && w.srcPort === n.core.port && t.startsWith('SIP/2.0 200') && /CSeq: \d+ REGISTER/i.test(t)) { lost++; return true; }
        return false;
      };
      deregistering = true;
      assert.is((await ue.deregister()).status, 200);
      await new Promise((r) => setTimeout(r, 100));
      assert.is(lost, overtake ? 1 : 0);
      assert.is(ended.length, 1, `${overtake ? 'NOTIFY first' : '200 first'}: ${ended.length} deregistered events`);
      // And the UE registers again over new sets, which the earlier ending does not touch.
      assert.is((await ue.register()).status, 200);
      assert.is((await ue.message(`sip:alice@${n.realm}`, 'x')).status, 200);
    } finally {
      n.close();
    }
  }
});

test('after de-registration: not registered, and every operation fails at once with NOT_REGISTERED', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST });
  try {
    const ue = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    assert.is((await ue.register()).status, 200);
    assert.ok(ue.registered);
    assert.is((await ue.deregister()).status, 200);
    assert.is(ue.current, undefined);
    assert.not.ok(ue.registered);
    // Counted from here: a loaded machine may have retransmitted the REGISTERs above at T1 = 25 ms.
    const retransmitted = ue.node.tx.retransmissions;
    const code = async (p: () => Promise<unknown>): Promise<string | undefined> => { try { await p(); return undefined; } catch (e) { return (e as { code?: string }).code; } };
    assert.is(await code(() => ue.publish('<presence/>')), 'NOT_REGISTERED');
    assert.is(await code(() => ue.subscribe(`sip:bob@${n.realm}`)), 'NOT_REGISTERED');
    assert.is(await code(() => ue.reRegister()), 'NOT_REGISTERED');
    assert.is(await code(() => ue.deregister()), 'NOT_REGISTERED');
    // A request sent into the deleted set would go unanswered and be retransmitted after T1.
    await new Promise((r) => setTimeout(r, 4 * FAST.t1));
    assert.is(ue.node.tx.retransmissions, retransmitted, 'nothing was sent into a deleted set');
    // And it can register again.
    assert.is((await ue.register()).status, 200);
    assert.is((await ue.publish('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@x"/>')).status, 200);
  } finally {
    n.close();
  }
});

test('a challenged de-REGISTER is answered over a new temporary set; the core and the P-CSCF end the registration', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST });
  try {
    const ue = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    const first = await ue.register();
    assert.is(first.status, 200);
    n.core.requireReauthentication(`sip:alice@${n.realm}`);
    const challenged: string[] = [];
    n.pcscf.events.challenged = (e) => challenged.push(e.key);
    const r = await ue.deregister();
    assert.is(r.status, 200, r.detail);
    assert.equal(challenged, [`alice@${n.realm}`], 'the de-REGISTER was challenged');
    assert.is(n.core.registrations.size, 0, 'the core removed the binding');
    assert.not.ok(ue.registered);
    assert.is(ue.db.size, 0);
    await settle(n);
    assert.is(n.pcscf.db.size, 0);
  } finally {
    n.close();
  }
});

test('resynchronisation during re-registration: after an HSS SQN reset the UE reports AUTS over its SAs and stays registered', async () => {
  const trace: TraceEvent[] = [];
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST, onTrace: (e) => trace.push(e) });
  try {
    const impi = `alice@${n.realm}`;
    const ue = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    assert.is((await ue.register()).status, 200);
    for (let i = 0; i < 2; i++) {
      n.core.requireReauthentication(`sip:alice@${n.realm}`);
      assert.is((await ue.reRegister()).status, 200);
    }
    // The HSS loses its SQN state (SEQ back to 0): the USIM will see the next AUTN as a replay.
    n.hss.addSubscriber({ impi, ...demoKeys() });
    n.core.requireReauthentication(`sip:alice@${n.realm}`);
    const before = trace.length;
    const r = await ue.reRegister();
    assert.is(r.status, 200, r.detail);
    assert.ok(ue.registered);
    const fromUe = trace.slice(before).filter((e) => e.from === 'UE alice' && e.message.type === 'request');
    assert.ok(fromUe.some((e) => /auts=/.test(e.message.headers.get('authorization') ?? '')), 'AUTS was sent');
    assert.ok(fromUe.every((e) => e.sa !== undefined), 'every REGISTER of the re-registration went over the SAs');
    assert.is((await ue.publish('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@x"/>')).status, 200);
    // The attempt that met the synchronisation failure did not linger.
    assert.is(n.pcscf.sec.attempts(impi).length, 0);
    assert.ok(n.pcscf.db.sets(impi).every((s) => s.state !== 'temporary'));
  } finally {
    n.close();
  }
});

test.run();
