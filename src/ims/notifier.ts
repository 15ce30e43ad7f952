// The notifier's side of a SUBSCRIBE dialog (RFC 6665 4.2, RFC 3261 12.2.1): what the presence server and
// the reg-event server keep per subscription, and the NOTIFY that goes out in it: the dialog's Call-ID,
// tags and next CSeq, the route set (the SUBSCRIBE's Record-Route, else a loose route to where it came
// from), Subscription-State with the time left, and the next hop the route set names.

import { hostPort } from '../ip.js';
import { type SipRequest } from '../sip/message.js';
import { looseHop } from './hop.js';
import { makeRequest, newBranch } from './sip-node.js';

/** A subscription's dialog as its notifier holds it. */
export interface NotifierDialog {
  /** The subscriber's Contact: the NOTIFY's Request-URI. */
  contact: string;
  callId: string;
  localTag: string;
  remoteTag: string;
  /** The CSeq of the next NOTIFY. */
  cseq: number;
  /** The dialog's route set (RFC 3261 12.1.1: the SUBSCRIBE's Record-Route), else empty. */
  routeSet: string[];
  /** Where the SUBSCRIBE came from (the route when the route set is empty). */
  via: { address: string; port: number };
  expiresAt: number;
}

/** The next NOTIFY of `d` (its CSeq taken) and the hop it goes to. */
export function notifyRequest(d: NotifierDialog, o: {
  resource: string; watcher: string; event: string; state: 'active' | 'terminated';
  /** The notifier's own address and the user part of its Contact. */
  self: { address: string; port: number; user: string };
  body?: { type: string; data: string } | undefined;
}): { req: SipRequest; hop: { address: string; port: number } } {
  const left = Math.max(0, Math.round((d.expiresAt - Date.now()) / 1000));
  const self = hostPort(o.self.address, o.self.port);
  const req = makeRequest({
    method: 'NOTIFY', uri: d.contact,
    from: `<${o.resource}>;tag=${d.localTag}`, to: `<${o.watcher}>;tag=${d.remoteTag}`,
    callId: d.callId, cseq: d.cseq++,
    via: `SIP/2.0/UDP ${self};branch=${newBranch()}`,
    headers: [
      ...(d.routeSet.length > 0 ? d.routeSet : [`<sip:${hostPort(d.via.address, d.via.port)};lr>`]).map((r) => ['Route', r] as [string, string]),
      ['Event', o.event],
      ['Subscription-State', o.state === 'active' ? `active;expires=${left}` : 'terminated;reason=noresource'],
      ['Contact', `<sip:${o.self.user}@${self}>`],
    ],
    ...(o.body ? { body: o.body } : {}),
  });
  return { req, hop: looseHop(d.routeSet[0]) ?? d.via };
}
