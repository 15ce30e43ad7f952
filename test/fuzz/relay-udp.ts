// Fuzz target: the demo's WebSocket relay (web/server.ts, src/net/ws-relay.ts) as a hostile page drives it,
// over what it really runs on: a real `ws` connection to the real server on 127.0.0.1 and real UDP sockets
// (NodeUdpNetwork) behind it, not the MemoryNetwork whose sockets never throw. Each input is one frame:
// binary (a datagram for the P-CSCF, ESP for port_ps, a datagram to port 0 or the core), JSON control text
// (binds, closes, null, arrays), or raw bytes sent as a text frame (invalid UTF-8 closes that connection).
// After each frame a ping/pong proves the server has handled it (frames are handled in order). Findings: an
// uncaught exception anywhere in the process, a server that stops answering, more sockets than the limits
// allow, and, every CYCLE inputs, a connection whose UDP sockets or HSS subscriber outlive it.

import { serializeSipMessage } from '../../src/index.js';
import { RELAY_MAX_SOCKETS } from '../../src/ims/index.js';
import { makeRequest, newBranch } from '../../src/ims/sip-node.js';
import { startWebDemo } from '../../web/server.js';
import { connect, eventually, relayFrame, udpHandles, type RelayClient } from '../ws-relay-client.js';
import { apply, type Mutation } from './mutate.js';
import { type FuzzContext, type Outcome, type Target } from './targets.js';

/** Inputs between two checks that a closed connection leaves nothing behind. */
const CYCLE = 2000;

const enc = new TextEncoder();

type Kind = 'binary' | 'text' | 'raw-text';

export const relayUdpTarget: Target = {
  name: 'the demo relay over real UDP and WebSockets (frames from a hostile page)',
  codes: [],
  async setup(): Promise<FuzzContext> {
    const demo = await startWebDemo({ port: 0, publishEveryMs: 3_600_000 });
    const uncaught: unknown[] = [];
    /** Ends the wait for a pong at once when an exception escapes (the server's socket is then wedged). */
    let wake: (() => void) | undefined;
    const onUncaught = (e: unknown): void => { uncaught.push(e); wake?.(); };
    const finding = (): Error => uncaught[0] instanceof Error ? uncaught[0] : new Error(String(uncaught[0]));
    process.on('uncaughtException', onUncaught);
    const idle = udpHandles();
    const pcscf = demo.network.pcscf;
    let c!: RelayClient;
    let relayPort = 0;
    const open = async (): Promise<void> => {
      c = await connect(demo.url, demo.url);
      for (const b of await Promise.all([c.bind(0), c.bind(0)])) {
        if (b['t'] !== 'bound') throw new Error(`the relay refused a plain bind: ${JSON.stringify(b)}`);
        relayPort = Number(b['port']);
      }
    };
    await open();
    const options = serializeSipMessage(makeRequest({
      method: 'OPTIONS', uri: `sip:${demo.network.realm}`, from: `<sip:${String(c.hello['impi'])}>;tag=f1`, to: `<sip:${demo.network.realm}>`,
      callId: 'relay-fuzz@127.0.0.1', cseq: 1, via: `SIP/2.0/UDP 127.0.0.1:${relayPort};branch=${newBranch()}`, headers: [],
    }));
    const esp = Uint8Array.of(0, 0, 0x30, 0x39, 0, 0, 0, 1, ...new Uint8Array(48).fill(0xa5));
    const seeds: Array<{ kind: Kind; bytes: Uint8Array }> = [
      { kind: 'binary', bytes: relayFrame(1, pcscf.port, '127.0.0.1', options) },
      { kind: 'binary', bytes: relayFrame(2, pcscf.portS.port, '127.0.0.1', esp) },
      { kind: 'binary', bytes: relayFrame(1, pcscf.portC.port, '127.0.0.1', Uint8Array.of(0xff)) },
      { kind: 'binary', bytes: relayFrame(1, 0, '127.0.0.1', Uint8Array.of(1, 2, 3)) },
      { kind: 'binary', bytes: relayFrame(2, demo.network.core.port, '127.0.0.1', options) },
      { kind: 'text', bytes: enc.encode(JSON.stringify({ t: 'bind', id: 9, port: 0 })) },
      { kind: 'text', bytes: enc.encode(JSON.stringify({ t: 'bind', id: 10, port: 80 })) },
      { kind: 'text', bytes: enc.encode(JSON.stringify({ t: 'close', sock: 2 })) },
      { kind: 'text', bytes: enc.encode('null') },
      { kind: 'text', bytes: enc.encode('[{"t":"bind"}]') },
      { kind: 'raw-text', bytes: enc.encode(JSON.stringify({ t: 'close', sock: 3 })) },
    ];
    /** Resolves true on the pong, false if the connection closes first. */
    const pong = (): Promise<boolean> => new Promise((ok, fail) => {
      const t = setTimeout(() => fail(new Error('the server stopped answering pings')), 5000);
      const ws = c.ws;
      const done = (v: boolean) => (): void => { clearTimeout(t); wake = undefined; ws.off('pong', yes); ws.off('close', no); ok(v); };
      const yes = done(true);
      const no = done(false);
      wake = no;
      ws.on('pong', yes);
      ws.on('close', no);
      if (ws.readyState === ws.OPEN) ws.ping(); else no();
    });
    const dropsNow = (): Record<string, number> => demo.relayStats().drops;
    let inputs = 0;

    /** Every connection's sockets and subscriber are gone once it closes. */
    const cycle = async (): Promise<void> => {
      const impi = String(c.hello['impi']);
      await c.close();
      if (!(await eventually(() => demo.sessions === 0, 5000))) throw new Error('the server did not see the page go');
      if (demo.network.hss.has(impi)) throw new Error(`the HSS still holds ${impi} after its page went`);
      if (!(await eventually(() => udpHandles() <= idle, 5000))) throw new Error(`UDP sockets: ${udpHandles()} after the page went, ${idle} before it came`);
      await open();
    };

    return {
      async check(m: Mutation): Promise<Outcome> {
        if (uncaught.length > 0) throw finding(); // while fast-check shrinks: the server is wedged, the first finding stands
        if (++inputs % CYCLE === 0) await cycle();
        const seed = seeds[m.seed % seeds.length]!;
        const bytes = apply(m, seeds.map((s) => s.bytes));
        const kind: Kind = m.random ? (['binary', 'text', 'raw-text'] as const)[m.seed % 3]! : seed.kind;
        const before = dropsNow();
        if (kind === 'binary') c.ws.send(bytes, { binary: true });
        else if (kind === 'text') c.ws.send(new TextDecoder().decode(bytes));
        else c.ws.send(Buffer.from(bytes), { binary: false });
        let outcome: Outcome = 'accepted';
        const answered = await pong();
        if (uncaught.length > 0) throw finding();
        if (!answered) {
          outcome = `closed ${await c.closed}`;
          await open();
        } else {
          const after = dropsNow();
          const reason = Object.keys(after).find((r) => after[r]! > before[r]!);
          if (reason) outcome = reason;
        }
        if (uncaught.length > 0) throw finding();
        const stats = demo.relayStats();
        if (stats.sockets > RELAY_MAX_SOCKETS * stats.connections) throw new Error(`${stats.sockets} relay sockets for ${stats.connections} connection(s)`);
        if (udpHandles() > idle + RELAY_MAX_SOCKETS * 2) throw new Error(`${udpHandles()} UDP sockets open (${idle} without a page)`);
        c.controls.length = 0;
        c.frames.length = 0;
        return outcome;
      },
      close(): void {
        c.ws.terminate();
        void demo.close().finally(() => {
          process.off('uncaughtException', onUncaught);
          if (uncaught.length > 0) throw uncaught[0];
        });
        if (uncaught.length > 0) throw finding();
      },
    };
  },
};
