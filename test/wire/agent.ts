// One end of a live wire test: an SA database with one SA set at a time, the project's wire (TransportWire
// over raw protocol-50 sockets, optionally with the TUN path, and/or a UdpEncapLink on a real UDP socket),
// and the sockets of the protected ports, either in-process WireProports ("direct") or plain kernel UDP
// sockets ("kernel", through the TUN). Used in-process by the kernel test runner and, as a child process in
// a network namespace, by the namespace tests: `node --import tsx test/wire/agent.ts` then reads JSON
// commands, one a line, on stdin and answers on stdout ({id, result} or {id, error}).

import { createSocket, type Socket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { SaDatabase, initSync, type EncryptionAlgorithm, type IntegrityAlgorithm, type SaEntry, type SaName, type SaSet } from '../../src/index.js';
import { NativeUdpSocket, NodeUdpNetwork, TransportWire, UdpEncapLink, WireProcessor, nonZeroDrops, type WirePort } from '../../src/node.js';

export interface StartOptions {
  role: 'ue' | 'pcscf';
  /** Local addresses for raw ESP sockets (transport mode); empty: no raw wire. */
  raw: string[];
  /** The TUN path (kernel sockets on the protected ports). */
  tun?: boolean;
  /** UDP encapsulation sockets (UDP-enc-tun), one per address family. */
  encap?: Array<{ address: string; port: number }>;
  /** The peer's encapsulation port (UDP-enc-tun) until learned. */
  peerEncapPort?: number;
  /** Encapsulation sockets on the native addon (NativeUdpSocket) instead of node:dgram. */
  nativeUdp?: boolean;
}

export interface SetParams {
  ueAddress: string;
  pcscfAddress: string;
  ue: { spiC: number; spiS: number; portC: number; portS: number };
  pcscf: { spiC: number; spiS: number; portC: number; portS: number };
  alg: IntegrityAlgorithm;
  ealg: EncryptionAlgorithm;
  mode: 'trans' | 'UDP-enc-tun';
  ck: string;
  ik: string;
  replayWindow: number;
  /** 'direct': in-process WirePorts on this side's protected ports; 'kernel': none (use bindKernel). */
  ports: 'direct' | 'kernel';
}

export interface Received {
  via: 'kernel' | 'port';
  localPort: number;
  from: { address: string; port: number };
  payload: string;
  sa?: SaName;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

export class Agent {
  readonly db: SaDatabase;
  readonly processor: WireProcessor;
  readonly transport: TransportWire | undefined;
  readonly encap: UdpEncapLink[];
  set: SaSet | undefined;
  readonly #ports = new Map<number, WirePort>();
  readonly #sockets = new Map<number, Socket>();
  #inbox: Received[] = [];
  #waiters: Array<() => void> = [];
  /** Count mode (throughput runs): received datagrams are counted, not kept. */
  #count: { n: number; first: number; last: number } | undefined;

  private constructor(db: SaDatabase, processor: WireProcessor, transport: TransportWire | undefined, encap: UdpEncapLink[]) {
    this.db = db;
    this.processor = processor;
    this.transport = transport;
    this.encap = encap;
  }

  static async start(o: StartOptions): Promise<Agent> {
    initSync();
    const db = new SaDatabase({ role: o.role, autoExpire: false, spiRange: { min: 0x1000, max: 0x0fffffff } });
    const processor = new WireProcessor({ db, ...(o.peerEncapPort !== undefined ? { peerEncapPort: o.peerEncapPort } : {}) });
    const transport = o.raw.length > 0 ? TransportWire.open({ processor, addresses: o.raw, ...(o.tun ? { tun: {} } : {}) }) : undefined;
    const encap: UdpEncapLink[] = [];
    for (const e of o.encap ?? []) {
      const sock = o.nativeUdp ? NativeUdpSocket.bind(e.address, e.port, { zeroCopy: true }) : await new NodeUdpNetwork().bind(e.address, e.port);
      encap.push(new UdpEncapLink(processor, sock, { keepAliveMs: 0 }));
    }
    return new Agent(db, processor, transport, encap);
  }

  /** Replaces the current SA set (the previous one is deleted, its keys wiped, its routing rules removed). */
  newSet(p: SetParams): { sas: Array<{ name: SaName; direction: string; spi: number }> } {
    this.deleteSet();
    const mine = this.db.role === 'ue' ? p.ue : p.pcscf;
    for (const spi of [mine.spiC, mine.spiS]) if (!this.db.spis.has(spi)) this.db.spis.reserve(spi);
    this.set = this.db.create({
      key: 'wire-test', ueAddress: p.ueAddress, pcscfAddress: p.pcscfAddress, ue: p.ue, pcscf: p.pcscf,
      alg: p.alg, ealg: p.ealg, mode: p.mode, ck: Buffer.from(p.ck, 'hex'), ik: Buffer.from(p.ik, 'hex'), replayWindow: p.replayWindow,
    });
    if (p.ports === 'direct') {
      for (const port of [mine.portC, mine.portS]) {
        const wp = this.processor.bindPort(port);
        wp.onMessage((payload, sa, from) => this.#push(() => ({ via: 'port', localPort: port, from, payload: hexOf(payload), sa: sa.name })));
        this.#ports.set(port, wp);
      }
    }
    return { sas: this.set.sas.map((s) => ({ name: s.name, direction: s.direction, spi: s.spi })) };
  }

  deleteSet(): void {
    for (const p of this.#ports.values()) p.close();
    this.#ports.clear();
    for (const s of this.#sockets.values()) s.close();
    this.#sockets.clear();
    if (this.set) this.db.delete(this.set);
    this.set = undefined;
  }

  #local(): string {
    if (!this.set) throw new Error('no SA set');
    return this.db.role === 'ue' ? this.set.ueAddress : this.set.pcscfAddress;
  }

  /** A kernel UDP socket on the local protected port `port` (the TUN path carries it). */
  async bindKernel(port: number): Promise<void> {
    const address = this.#local();
    const s = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, address, () => { s.off('error', reject); resolve(); }); });
    s.on('error', () => {});
    s.on('message', (m, r) => this.#push(() => ({ via: 'kernel', localPort: port, from: { address: r.address, port: r.port }, payload: m.toString('hex') })));
    this.#sockets.set(port, s);
  }

  /** Sends from a kernel socket (bindKernel first). */
  async sendKernel(port: number, to: { address: string; port: number }, payloads: string[]): Promise<void> {
    const s = this.#sockets.get(port);
    if (!s) throw new Error(`no kernel socket on ${port}`);
    for (const h of payloads) await new Promise<void>((resolve, reject) => s.send(Buffer.from(h, 'hex'), to.port, to.address, (e) => (e ? reject(e) : resolve())));
  }

  /** Sends over the named outbound SA from its in-process port. */
  sendPort(sa: SaName, payloads: string[]): void {
    if (!this.set) throw new Error('no SA set');
    const e: SaEntry = this.set.sa(sa);
    const port = this.#ports.get(e.srcPort);
    if (!port) throw new Error(`no direct port ${e.srcPort}`);
    for (const h of payloads) port.send(e, Buffer.from(h, 'hex'));
  }

  /** Waits until `n` datagrams were received (or `timeoutMs` passed); returns and clears them. */
  async take(n: number, timeoutMs: number): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.#inbox.length < n && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    const out = this.#inbox;
    this.#inbox = [];
    return out;
  }

  #push(r: Received | (() => Received)): void {
    const c = this.#count;
    if (c) {
      const t = performance.now();
      if (c.n++ === 0) c.first = t;
      c.last = t;
      return;
    }
    this.#inbox.push(typeof r === 'function' ? r() : r);
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Throughput runs: starts counting received datagrams (or, with false, stops and returns the count). */
  countMode(on: boolean): { n: number; ms: number } {
    const c = this.#count;
    this.#count = on ? { n: 0, first: 0, last: 0 } : undefined;
    return c ? { n: c.n, ms: c.last - c.first } : { n: 0, ms: 0 };
  }

  /**
   * Sends `n` payloads of `size` octets over an SA from its in-process port (kind 'port') or from the
   * kernel socket on the SA's source port (kind 'kernel'), paced at `rate` per second (0: as fast as
   * possible); returns the ms it took.
   */
  async flood(kind: 'port' | 'kernel', sa: SaName, n: number, size: number, rate: number): Promise<number> {
    if (!this.set) throw new Error('no SA set');
    const e = this.set.sa(sa);
    const port = this.#ports.get(e.srcPort);
    const sock = this.#sockets.get(e.srcPort);
    const payload = Buffer.alloc(size, 0x61);
    const t = performance.now();
    let sent = 0;
    let inFlight = 0;
    while (sent < n) {
      const due = rate > 0 ? Math.min(n, Math.floor(((performance.now() - t) * rate) / 1000) + 1) : n;
      let burst = 0;
      while (sent < due && burst < 256) {
        if (kind === 'port') port!.send(e, payload);
        else {
          if (inFlight >= 256) break;
          inFlight++;
          sock!.send(payload, e.dstPort, e.dstAddress, () => { inFlight--; });
        }
        sent++;
        burst++;
      }
      await new Promise((r) => setImmediate(r));
    }
    while (inFlight > 0) await new Promise((r) => setImmediate(r));
    return performance.now() - t;
  }

  counters(): { received: number; sent: number; delivered: number; dropped: Record<string, number>; readErrors: [number, number]; rules: number } {
    const c = this.processor.counters;
    return { received: c.received, sent: c.sent, delivered: c.delivered, dropped: nonZeroDrops(c) as Record<string, number>, readErrors: this.transport?.readErrors() ?? [0, 0], rules: this.transport?.rules.size ?? 0 };
  }

  close(): void {
    this.deleteSet();
    this.transport?.close();
    for (const l of this.encap) l.close();
    this.processor.close();
  }
}

/** The child-process form: JSON commands on stdin. */
async function serve(): Promise<void> {
  let agent: Agent | undefined;
  const rl = createInterface({ input: process.stdin });
  const reply = (o: unknown): void => { process.stdout.write(`${JSON.stringify(o)}\n`); };
  for await (const line of rl) {
    if (!line.trim()) continue;
    const { id, op, args } = JSON.parse(line) as { id: number; op: string; args: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      let result: unknown = null;
      if (op === 'start') agent = await Agent.start(args as StartOptions);
      else if (!agent) throw new Error('start first');
      else if (op === 'newSet') result = agent.newSet(args as SetParams);
      else if (op === 'bindKernel') await agent.bindKernel(args.port);
      else if (op === 'sendKernel') await agent.sendKernel(args.port, args.to, args.payloads);
      else if (op === 'sendPort') agent.sendPort(args.sa, args.payloads);
      else if (op === 'take') result = await agent.take(args.n, args.timeoutMs);
      else if (op === 'counters') result = agent.counters();
      else if (op === 'countMode') result = agent.countMode(args.on);
      else if (op === 'flood') result = await agent.flood(args.kind, args.sa, args.n, args.size, args.rate);
      else if (op === 'eval') result = await (new Function('agent', `return (async () => { ${args.code} })()`))(agent); // test-only hooks (perf loops)
      else if (op === 'close') { agent.close(); reply({ id, result }); break; }
      else throw new Error(`unknown op ${op}`);
      reply({ id, result });
    } catch (e) {
      reply({ id, error: { code: (e as { code?: string }).code, message: (e as Error).message } });
    }
  }
  process.exit(0);
}

if (process.argv[1]?.endsWith('agent.ts') && process.argv.includes('--serve')) void serve();
