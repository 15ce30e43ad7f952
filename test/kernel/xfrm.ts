// The kernel peer's half of an SA set as `ip xfrm` commands (Linux XFRM, what Kamailio's ims_ipsec_pcscf and
// Android program): the four SAs of TS 33.203 7.1 from the parameters both sides agreed, with keys from the
// tests' own Annex I (test/wire/annex-i.ts, not the project's), transport or UDP-encapsulated tunnel mode
// (`encap espinudp 4500 4500`), replay window W, and the policies (selectors: addresses, UDP and ports) that
// send the kernel's outbound traffic into its two outbound SAs and accept the inbound two.

import { annexI, xfrmAlgorithms } from '../wire/annex-i.js';
import { type SetParams } from '../wire/agent.js';

export type Role = 'ue' | 'pcscf';

export interface KernelSa {
  name: 'SA1' | 'SA2' | 'SA3' | 'SA4';
  spi: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  /** Who sends on it. */
  from: Role;
  reqid: number;
}

/** The four SAs (TS 33.203 7.1 naming), with their selectors. */
export function sasOf(p: SetParams): KernelSa[] {
  const u = p.ueAddress, c = p.pcscfAddress;
  return [
    { name: 'SA1', spi: p.pcscf.spiS, src: u, sport: p.ue.portC, dst: c, dport: p.pcscf.portS, from: 'ue', reqid: 1 },
    { name: 'SA2', spi: p.ue.spiS, src: c, sport: p.pcscf.portC, dst: u, dport: p.ue.portS, from: 'pcscf', reqid: 2 },
    { name: 'SA3', spi: p.ue.spiC, src: c, sport: p.pcscf.portS, dst: u, dport: p.ue.portC, from: 'pcscf', reqid: 3 },
    { name: 'SA4', spi: p.pcscf.spiC, src: u, sport: p.ue.portS, dst: c, dport: p.pcscf.portC, from: 'ue', reqid: 4 },
  ];
}

const IP = '/sbin/ip';
/** A shell function that retries a command: the first use of an algorithm under TCG can fail while the
 *  crypto manager instantiates and self-tests it. */
export const RETRY = 'r() { for i in 1 2 3 4 5; do "$@" && return 0; sleep 0.3; done; return 1; }';

/** `ip xfrm state add` for one SA (extra: e.g. ` replay-oseq 0x10`). */
export function stateAdd(p: SetParams, sa: KernelSa, extra = ''): string {
  const k = annexI(p.alg, p.ealg, Buffer.from(p.ck, 'hex'), Buffer.from(p.ik, 'hex'));
  const mode = p.mode === 'trans' ? 'transport' : 'tunnel';
  const encap = p.mode === 'UDP-enc-tun' ? ` encap espinudp 4500 4500 ${sa.src.includes(':') ? '::' : '0.0.0.0'}` : '';
  return `r ${IP} xfrm state add src ${sa.src} dst ${sa.dst} proto esp spi 0x${sa.spi.toString(16)} reqid ${sa.reqid} mode ${mode} replay-window ${p.replayWindow}${extra} ${xfrmAlgorithms(p.alg, p.ealg, k)}${encap}`;
}

export function stateDelete(sa: KernelSa): string {
  return `${IP} xfrm state delete src ${sa.src} dst ${sa.dst} proto esp spi 0x${sa.spi.toString(16)}`;
}

/** One shell line: flush, then the four states and four policies of the kernel side `kernel`. */
export function kernelSetUp(p: SetParams, kernel: Role): string {
  const mode = p.mode === 'trans' ? 'transport' : 'tunnel';
  const parts = [RETRY, `${IP} xfrm state flush && ${IP} xfrm policy flush`];
  for (const sa of sasOf(p)) {
    parts.push(stateAdd(p, sa));
    const dir = sa.from === kernel ? 'out' : 'in';
    parts.push(`${IP} xfrm policy add src ${sa.src} dst ${sa.dst} proto 17 sport ${sa.sport} dport ${sa.dport} dir ${dir} tmpl src ${sa.src} dst ${sa.dst} proto esp reqid ${sa.reqid} mode ${mode}`);
  }
  return `${parts[0]}; ${parts.slice(1).join(' && ')} && echo ok`;
}
