// Test helper (issue 19): a real redis-server (Debian package redis-server) of its own, on a free port in a
// temporary directory, stopped and removed afterwards; and a temporary SQLite file. Without redis-server
// the Redis cases print a note and are skipped (.ci/run installs it, and counts its absence as a failure
// with CI set). And the UE side's capture of the ESP the P-CSCF sends (sequence numbers per SPI).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Datagram } from '../src/net/datagram.js';
import { type NodeUdpNetwork } from '../src/net/node-udp.js';

export function haveRedis(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** Asks the server to write its dump (SAVE) and returns its path. */
  dump(): Promise<string>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ipsec3gpp-redis-'));
  const port = await freePort();
  const p: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--dbfilename', 'dump.rdb'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
    const check = (): void => {
      if (out.includes('Ready to accept connections')) {
        clearTimeout(t);
        resolve();
      } else setTimeout(check, 20);
    };
    p.once('exit', (c) => reject(new Error(`redis-server exited (${c}): ${out}`)));
    check();
  });
  return {
    url: `redis://127.0.0.1:${port}`, port, dir,
    async dump() {
      spawnSync('redis-cli', ['-p', String(port), 'SAVE'], { stdio: 'ignore' });
      return join(dir, 'dump.rdb');
    },
    async stop() {
      if (p.exitCode === null) {
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ipsec3gpp-store-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Taps every socket `net` binds from now on: each datagram that `from` accepts and that starts with a
 * non-zero SPI (ESP in UDP, RFC 3948; a zero SPI would be IKE or a keep-alive) is reported as its SPI and
 * sequence number before the socket's handler gets it.
 */
export function tapEspSeqs(net: NodeUdpNetwork, from: (d: Datagram) => boolean, seen: (spi: number, seq: number) => void): void {
  const bind = net.bind.bind(net);
  net.bind = async (address: string, port: number) => {
    const s = await bind(address, port);
    const on = s.onMessage.bind(s);
    s.onMessage = (h) => on((d) => {
      const b = d.data;
      if (b.length >= 8 && (b[0]! | b[1]! | b[2]! | b[3]!) !== 0 && from(d)) {
        const dv = new DataView(b.buffer, b.byteOffset, b.length);
        seen(dv.getUint32(0), dv.getUint32(4));
      }
      h(d);
    });
    return s;
  };
}
