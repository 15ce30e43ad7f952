// Loader of the optional native addon (native/wire.c: TUN devices, raw protocol-50 sockets, rtnetlink rules)
// and the privilege checks in front of it. Node only (node:module, node:fs, node:os): reached from
// `ipsec-3gpp/node`, never from the browser entry points. When the addon or a privilege is missing the
// caller gets a typed error that says what is missing and how to get it, and nothing is set up.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ipsec3gppError } from '../errors.js';

/** The addon's functions (see native/wire.c); negative numbers are -errno. Not exported by any entry point, but kept in the .d.ts (tun-streams.d.ts refers to it). */
export interface NativeWire {
  readonly abi: number;
  tunOpen(name: string): [number, string] | number;
  linkSet(name: string, mtu: number, up: boolean): number;
  rawOpen(family: 4 | 6, local: Uint8Array): number;
  sendTo(fd: number, family: 4 | 6, dst: Uint8Array, packet: Uint8Array): number;
  writeFd(fd: number, packet: Uint8Array): number;
  udpOpen(family: 4 | 6, local: Uint8Array, port: number): number;
  localPort(fd: number): number;
  sendToPort(fd: number, family: 4 | 6, dst: Uint8Array, port: number, payload: Uint8Array): number;
  /** Datagrams from..count-1 of a send queue in one sendmmsg (native/wire.c send_many); absent in older builds. */
  sendMany(fd: number, family: 4 | 6, data: Uint8Array, meta: Int32Array, addrs: Uint8Array, from: number, count: number): number;
  closeFd(fd: number): number;
  readerStart(fd: number, kind: 0 | 1 | 2, ring: Uint8Array, slot: number, lengths: Int32Array, cb: (n: number) => void): object | number;
  readerStop(handle: object): number;
  readerRef(handle: object, ref: boolean): number;
  readerErrors(handle: object): [number, number];
  rule(add: boolean, family: 4 | 6, src: Uint8Array, sport: number, table: number, priority: number): number;
  route(add: boolean, family: 4 | 6, table: number, ifindex: number): number;
  bindToDevice(fd: number, ifname: string): number;
  tcpOpen(family: 4 | 6, local: Uint8Array, port: number, ifname: string, listen: boolean): number;
  netnsEnter(path: string): number;
  netnsLeave(saved: number): number;
}

const ADDON = 'ipsec3gpp_wire.node';
let cached: NativeWire | Ipsec3gppError | undefined;

/** Where the addon is looked for: $IPSEC3GPP_WIRE_ADDON, else native/build/Release/ of the package. */
export function addonPath(): string {
  const env = process.env.IPSEC3GPP_WIRE_ADDON;
  if (env !== undefined && env !== '') return env;
  // dist/wire/native.js (or src/wire/native.ts under tsx) -> <package>/native/build/Release/
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release', ADDON);
}

/**
 * The native addon, loaded once. Throws WIRE_UNAVAILABLE (with the reason: not Linux, not built, does not
 * load) when it cannot be had.
 */
export function loadNative(): NativeWire {
  if (cached === undefined) cached = tryLoad();
  if (cached instanceof Ipsec3gppError) throw cached;
  return cached;
}

function tryLoad(): NativeWire | Ipsec3gppError {
  if (process.platform !== 'linux') {
    return new Ipsec3gppError('WIRE_UNAVAILABLE', `the raw ESP wire (IP protocol 50, TUN) exists on Linux only, not on ${process.platform}; use UDP-enc-tun (UdpEncapLink) instead`);
  }
  const path = addonPath();
  if (!existsSync(path)) {
    return new Ipsec3gppError('WIRE_UNAVAILABLE', `the native wire addon is not built (${path} is missing): run \`npm run build:native\` (needs a C compiler and Node headers; npm install tries it and skips it when it cannot)`);
  }
  try {
    const m = createRequire(import.meta.url)(path) as NativeWire;
    if (m.abi !== 2) return new Ipsec3gppError('WIRE_UNAVAILABLE', `the native wire addon at ${path} has ABI ${String(m.abi)}, expected 2: rebuild it with \`npm run build:native\``);
    return m;
  } catch (e) {
    return new Ipsec3gppError('WIRE_UNAVAILABLE', `the native wire addon at ${path} does not load (${(e as Error).message.split('\n')[0]}): rebuild it with \`npm run build:native\``);
  }
}

const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;

/** The effective capabilities CAP_NET_ADMIN and CAP_NET_RAW of this process (Linux /proc/self/status). */
export function netCapabilities(): { netAdmin: boolean; netRaw: boolean } {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (!m) return { netAdmin: false, netRaw: false };
    const eff = BigInt(`0x${m[1]!}`);
    return { netAdmin: ((eff >> BigInt(CAP_NET_ADMIN)) & 1n) === 1n, netRaw: ((eff >> BigInt(CAP_NET_RAW)) & 1n) === 1n };
  } catch {
    return { netAdmin: false, netRaw: false };
  }
}

/** Throws WIRE_PERMISSION naming what is missing for `what` (raw sockets need CAP_NET_RAW, TUN and routing CAP_NET_ADMIN). */
export function requireCapabilities(raw: boolean, admin: boolean, what: string): void {
  const c = netCapabilities();
  const missing = [raw && !c.netRaw ? 'CAP_NET_RAW' : '', admin && !c.netAdmin ? 'CAP_NET_ADMIN' : ''].filter(Boolean);
  if (missing.length > 0) {
    throw new Ipsec3gppError('WIRE_PERMISSION', `${what} needs ${missing.join(' and ')}: run as root, or grant them (e.g. \`setcap cap_net_raw,cap_net_admin+ep "$(command -v node)"\`)`);
  }
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** The name of an errno value (EPERM, ...). */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}

/** A typed error for a failed OS call: EPERM/EACCES are WIRE_PERMISSION, anything else WIRE_SETUP. */
export function osError(rc: number, what: string): Ipsec3gppError {
  const name = errnoName(rc);
  const code = name === 'EPERM' || name === 'EACCES' ? 'WIRE_PERMISSION' : 'WIRE_SETUP';
  const hint = name === 'EADDRNOTAVAIL' ? ' (the address is not configured on this host)'
    : name === 'EBUSY' ? ' (the name is in use)'
      : name === 'ENOENT' ? ' (no /dev/net/tun: load the tun module)'
        : code === 'WIRE_PERMISSION' ? ' (needs CAP_NET_RAW / CAP_NET_ADMIN)' : '';
  return new Ipsec3gppError(code, `${what} failed: ${name}${hint}`);
}
