// The wires of the command-line roles (`pcscf`, `ue`, the demo): which TS 33.203 modes they carry on this
// host. `trans` (ESP directly in IP, 7.1) needs Linux, CAP_NET_RAW and the native addon; `udp-enc-tun`
// (RFC 3948, Annex M) needs nothing. `auto` takes both where the raw wire can open, UDP-enc-tun alone
// otherwise, and says why.

import { Ipsec3gppError } from '../errors.js';
import { udpEncapWire, type RoleWire } from '../ims/role-wire.js';
import { loadNative, netCapabilities } from '../wire/native.js';
import { transportModeWire } from '../wire/transport-wire.js';
import { NativeUdpSocket } from '../wire/native-udp.js';

/** What --wire takes. */
export type WireChoice = 'auto' | 'trans' | 'udp-enc-tun' | 'both';
export const WIRE_CHOICES: readonly WireChoice[] = ['auto', 'trans', 'udp-enc-tun', 'both'];

/** Whether the addon's UDP socket can be used (Linux, addon built; no privilege needed). */
function nativeUdpAvailable(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}

/** Why transport mode cannot be used here, or undefined when it can. */
export function transportModeUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'transport mode needs Linux';
  try {
    loadNative();
  } catch (e) {
    return e instanceof Ipsec3gppError ? e.message : String(e);
  }
  if (!netCapabilities().netRaw) return 'transport mode needs CAP_NET_RAW (run as root, or setcap cap_net_raw+ep on node)';
  return undefined;
}

/**
 * The wires for `choice`, transport mode first (preferred without a NAT), with a line saying what was
 * chosen. Throws (with the reason) when `trans` or `both` was asked for and cannot be had.
 */
export function chooseWires(choice: WireChoice, o: { encapPort?: number; keepAliveMs?: number; tun?: boolean; nativeUdp?: boolean } = {}): { wires: RoleWire[]; note: string } {
  // The addon's batched UDP socket for the encapsulation port where it loads (2.4x node:dgram's packet rate
  // in npm run bench:wire); it bypasses the network's taps, so a caller that captures leaves it off.
  const native = o.nativeUdp === true && nativeUdpAvailable();
  const encap = udpEncapWire({
    ...(o.encapPort !== undefined ? { port: o.encapPort } : {}), ...(o.keepAliveMs !== undefined ? { keepAliveMs: o.keepAliveMs } : {}),
    ...(native ? { bind: async (a: string, p: number) => NativeUdpSocket.bind(a, p) } : {}),
  });
  const why = choice === 'udp-enc-tun' ? undefined : transportModeUnavailable();
  if ((choice === 'trans' || choice === 'both') && why !== undefined) throw new Error(`--wire ${choice}: ${why}`);
  const trans = (): RoleWire => transportModeWire(o.tun ? { tun: {} } : {});
  const tcp = o.tun ? ', TCP inside the SAs through a TUN device' : '';
  if (o.tun && choice === 'udp-enc-tun') throw new Error('--tun needs transport mode (--wire/--mode trans, both or auto)');
  if (choice === 'trans') return { wires: [trans()], note: `wire: transport mode (ESP as IP protocol 50)${tcp}` };
  if (choice === 'udp-enc-tun') return { wires: [encap], note: 'wire: UDP-encapsulated tunnel mode (RFC 3948)' };
  if (why === undefined) return { wires: [trans(), encap], note: `wire: transport mode (ESP as IP protocol 50) and UDP-encapsulated tunnel mode (RFC 3948)${tcp}` };
  if (o.tun) throw new Error(`--tun: ${why}`);
  return { wires: [encap], note: `wire: UDP-encapsulated tunnel mode only (${why})` };
}
