// The controller's side of kpeer (test/kernel/guest/kpeer.c): one TCP connection to the guest, one command
// a line, each answer the lines up to ".". From a fixed local port (7001), outside the range of protected
// ports, so that the wire's routing rules never take the control traffic into the TUN device.

import { connect, type Socket } from 'node:net';

export interface Datagram {
  src: string;
  sport: number;
  dport: number;
  payload: string;
}

export class GuestControl {
  readonly #sock: Socket;
  #buf = '';
  #waiting: Array<(lines: string[]) => void> = [];
  #lines: string[] = [];
  #closed = false;

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.#buf += d;
      let i;
      while ((i = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 1);
        if (line === '.') {
          const w = this.#waiting.shift();
          const got = this.#lines;
          this.#lines = [];
          w?.(got);
        } else {
          this.#lines.push(line);
        }
      }
    });
    sock.on('close', () => {
      this.#closed = true;
      for (const w of this.#waiting) w(['err connection closed']);
      this.#waiting = [];
    });
    sock.on('error', () => {});
  }

  /** Connects, retrying until `timeoutMs` (the guest may still be booting). */
  static async connect(host: string, port: number, timeoutMs: number, localPort = 7001): Promise<GuestControl> {
    const end = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < end) {
      try {
        const s = await new Promise<Socket>((resolve, reject) => {
          const c = connect({ host, port, localPort, localAddress: host.includes(':') ? '2001:db8::1' : '192.0.2.1' });
          const t = setTimeout(() => { c.destroy(); reject(new Error('timeout')); }, 3000);
          c.once('connect', () => { clearTimeout(t); resolve(c); });
          c.once('error', (e) => { clearTimeout(t); reject(e); });
        });
        s.setNoDelay(true);
        return new GuestControl(s);
      } catch (e) {
        last = (e as Error).message;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    throw new Error(`cannot reach the guest agent at ${host}:${port}: ${last}`);
  }

  /** Sends one command; resolves with its answer lines (without the final "."). */
  cmd(line: string, timeoutMs = 60_000): Promise<string[]> {
    if (this.#closed) return Promise.resolve(['err connection closed']);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve([`err timeout after ${timeoutMs} ms: ${line.slice(0, 80)}`]), timeoutMs);
      this.#waiting.push((lines) => { clearTimeout(t); resolve(lines); });
      this.#sock.write(`${line}\n`);
    });
  }

  /** Runs a shell command; returns [rc, output lines]. */
  async sh(command: string): Promise<[number, string[]]> {
    const lines = await this.cmd(`sh ${command}`);
    const rc = lines.find((l) => l.startsWith('rc '));
    return [rc ? Number(rc.slice(3)) : -1, lines.filter((l) => l.startsWith('out ')).map((l) => l.slice(4)).concat(lines.filter((l) => l.startsWith('err ')))];
  }

  /** A command answered with "ok"; throws with the answer otherwise. */
  async ok(line: string): Promise<void> {
    const r = await this.cmd(line);
    if (!r.includes('ok')) throw new Error(`guest: ${line.slice(0, 60)}: ${r.join(' | ')}`);
  }

  async recv(n: number, ms: number): Promise<Datagram[]> {
    const r = await this.cmd(`recv ${n} ${ms}`, ms + 30_000);
    return r.filter((l) => l.startsWith('rx ')).map((l) => {
      const [, src, sport, dport, payload] = l.split(' ');
      return { src: src!, sport: Number(sport), dport: Number(dport), payload: payload ?? '' };
    });
  }

  async stat(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const l of await this.cmd('stat')) {
      const [k, name, v] = l.split(' ');
      if (k === 'stat') out[name!] = Number(v);
    }
    return out;
  }

  close(): void {
    this.#sock.destroy();
  }
}
