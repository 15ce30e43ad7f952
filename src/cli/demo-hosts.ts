// The demo's two hosts (issue: "the demo runs on the real wire where it can"): as root, two network
// namespaces joined by a veth pair, the P-CSCF and its core on one (192.0.2.1 / 2001:db8::1), the UEs on the
// other (192.0.2.2 / 2001:db8::2) - documentation addresses (RFC 5737, RFC 3849), never private ranges.
// The demo stays one process: its sockets are made inside the namespaces (wire/netns.ts). Everything made
// here is named after the process id and removed by destroy(), also on SIGINT/SIGTERM.

import { spawnSync } from 'node:child_process';
import { transportModeUnavailable } from './wires.js';

export interface DemoHosts {
  pcscfNs: string;
  ueNs: string;
  pcscfAddress: string;
  ueAddress: string;
  destroy(): void;
}

const ip = (...args: string[]): { ok: boolean; err: string } => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr ?? '').trim() || (r.error?.message ?? `exit ${r.status}`) };
};

/** Makes the two hosts, or says why it cannot (then the demo runs on loopback). */
export function createDemoHosts(ipv6: boolean): DemoHosts | { why: string } {
  if (process.platform !== 'linux') return { why: 'not Linux' };
  if (process.getuid?.() !== 0) return { why: 'not root' };
  const raw = transportModeUnavailable();
  if (raw !== undefined) return { why: raw };
  if (spawnSync('ip', ['-V']).status !== 0) return { why: 'no ip (iproute2)' };
  const tag = String(process.pid % 100000);
  const pcscfNs = `ipsec3gpp-demo-p${tag}`;
  const ueNs = `ipsec3gpp-demo-u${tag}`;
  const destroy = (): void => {
    ip('netns', 'del', pcscfNs);
    ip('netns', 'del', ueNs);
  };
  const steps: string[][] = [
    ['netns', 'add', pcscfNs], ['netns', 'add', ueNs],
    ['link', 'add', `i3dp${tag}`, 'netns', pcscfNs, 'type', 'veth', 'peer', 'name', `i3du${tag}`, 'netns', ueNs],
    ['-n', pcscfNs, 'addr', 'add', ipv6 ? '2001:db8::1/64' : '192.0.2.1/24', 'dev', `i3dp${tag}`, ...(ipv6 ? ['nodad'] : [])],
    ['-n', ueNs, 'addr', 'add', ipv6 ? '2001:db8::2/64' : '192.0.2.2/24', 'dev', `i3du${tag}`, ...(ipv6 ? ['nodad'] : [])],
    ['-n', pcscfNs, 'link', 'set', 'lo', 'up'], ['-n', ueNs, 'link', 'set', 'lo', 'up'],
    ['-n', pcscfNs, 'link', 'set', `i3dp${tag}`, 'up'], ['-n', ueNs, 'link', 'set', `i3du${tag}`, 'up'],
  ];
  destroy();
  for (const s of steps) {
    const r = ip(...s);
    if (!r.ok) {
      destroy();
      return { why: `ip ${s.join(' ')}: ${r.err}` };
    }
  }
  const bye = (): void => { destroy(); process.exit(130); };
  process.once('SIGINT', bye);
  process.once('SIGTERM', bye);
  return {
    pcscfNs, ueNs,
    pcscfAddress: ipv6 ? '2001:db8::1' : '192.0.2.1',
    ueAddress: ipv6 ? '2001:db8::2' : '192.0.2.2',
    destroy(): void {
      process.removeListener('SIGINT', bye);
      process.removeListener('SIGTERM', bye);
      destroy();
    },
  };
}
