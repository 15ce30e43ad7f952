// Network namespaces for the live wire tests (Linux, root): namespaces joined by a veth pair, with
// documentation addresses only (192.0.2.0/24, 2001:db8::/32), and agents (test/wire/agent.ts) running inside
// them as child processes. Everything created here is named after the test's pid and removed by `destroy`.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function sh(cmd: string[], what = cmd.join(' ')): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${what}: ${r.stderr.trim() || `exit ${r.status}`}`);
  return r.stdout;
}

/** Whether this process may create namespaces (root or CAP_SYS_ADMIN + CAP_NET_ADMIN) and `ip` exists. */
export function canUseNetns(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'no ip (iproute2)';
  return undefined;
}

export class Netns {
  readonly name: string;
  private constructor(name: string) {
    this.name = name;
  }

  static create(name: string): Netns {
    spawnSync('ip', ['netns', 'del', name]);
    sh(['ip', 'netns', 'add', name]);
    const ns = new Netns(name);
    ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  ip(...args: string[]): string {
    return sh(['ip', '-n', this.name, ...args]);
  }

  exec(...cmd: string[]): string {
    return sh(['ip', 'netns', 'exec', this.name, ...cmd]);
  }

  destroy(): void {
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

/** A veth pair between two namespaces; side a gets .1 / ::1, side b .2 / ::2. */
export function joinVeth(a: Netns, b: Netns, tag: string): void {
  const [ia, ib] = [`va${tag}`, `vb${tag}`];
  sh(['ip', 'link', 'add', ia, 'netns', a.name, 'type', 'veth', 'peer', 'name', ib, 'netns', b.name]);
  for (const [ns, dev, n] of [[a, ia, 1], [b, ib, 2]] as const) {
    ns.ip('addr', 'add', `192.0.2.${n}/24`, 'dev', dev);
    ns.ip('-6', 'addr', 'add', `2001:db8::${n}/64`, 'dev', dev, 'nodad');
    ns.ip('link', 'set', dev, 'up');
  }
}

/** An agent (test/wire/agent.ts) in a namespace, driven over its stdin/stdout. */
export class AgentProcess {
  readonly child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  #next = 1;
  stderr = '';

  constructor(ns: Netns) {
    this.child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', join(root, 'test', 'wire', 'agent.ts'), '--serve'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d) => { this.stderr += String(d); });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let m: { id: number; result?: unknown; error?: { code?: string; message: string } };
      try { m = JSON.parse(line); } catch { return; }
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else p.resolve(m.result);
    });
    this.child.on('exit', (code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`agent exited (${code}): ${this.stderr.slice(-800)}`));
      this.#pending.clear();
    });
  }

  call<T = any>(op: string, args: unknown = {}): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    try { await Promise.race([this.call('close'), new Promise((r) => setTimeout(r, 2000))]); } catch { /* gone */ }
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}
