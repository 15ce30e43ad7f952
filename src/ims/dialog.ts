// SIP dialogs (RFC 3261 12): the state both ends keep once an INVITE has a response with a To tag, and the
// requests sent inside it. The UAC builds its dialog from the response (12.1.2: route set = the response's
// Record-Route reversed, remote target = its Contact), the UAS from the request (12.1.1: route set = the
// request's Record-Route as received, remote target = its Contact). Requests inside the dialog (12.2.1.1)
// go to the remote target with the route set as Route (all loose routers here, `;lr`), the local and
// remote tags in From and To, and the local CSeq counting up; the ACK to a 2xx (13.2.2.4) takes the
// INVITE's CSeq number.

import { addressUri, headerParam, parseCSeq, parseNameAddr, type SipRequest, type SipResponse } from '../sip/message.js';
import { makeRequest } from './sip-node.js';

/** One end's view of a dialog. */
export interface Dialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** The From of this end's requests (name-addr, without tag). */
  localUri: string;
  /** The To of this end's requests (name-addr, without tag). */
  remoteUri: string;
  /** Where requests in the dialog go: the peer's Contact URI. */
  remoteTarget: string;
  /** Route of requests in the dialog, first hop first. */
  routeSet: string[];
  localSeq: number;
  /** The CSeq of the peer's last request in the dialog (undefined: none yet). */
  remoteSeq: number | undefined;
}

/** A name-addr without its header parameters (the tag goes back on separately). */
function withoutParams(value: string): string {
  const { displayName, uri } = parseNameAddr(value);
  return displayName ? `"${displayName.replace(/["\\]/g, '')}" <${uri}>` : `<${uri}>`;
}

/** The remote target from a Contact header (RFC 3261 12.1.1 / 12.1.2), or `fallback` without one. */
function contactTarget(value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  try {
    return addressUri(value);
  } catch {
    return fallback;
  }
}

/** The UAC's dialog from a response with a To tag to its INVITE (RFC 3261 12.1.2). */
export function uacDialog(req: SipRequest, res: SipResponse): Dialog {
  return {
    callId: req.headers.get('call-id')!,
    localTag: headerParam(req.headers.get('from')!, 'tag') ?? '',
    remoteTag: headerParam(res.headers.get('to')!, 'tag') ?? '',
    localUri: withoutParams(req.headers.get('from')!),
    remoteUri: withoutParams(req.headers.get('to')!),
    remoteTarget: contactTarget(res.headers.get('contact'), req.uri),
    routeSet: res.headers.values('record-route').reverse(),
    localSeq: parseCSeq(req.headers.get('cseq')!).seq,
    remoteSeq: undefined,
  };
}

/** The UAS's dialog from a dialog-forming request it answers with `localTag` (RFC 3261 12.1.1). */
export function uasDialog(req: SipRequest, localTag: string): Dialog {
  return {
    callId: req.headers.get('call-id')!,
    localTag,
    remoteTag: headerParam(req.headers.get('from')!, 'tag') ?? '',
    localUri: withoutParams(req.headers.get('to')!),
    remoteUri: withoutParams(req.headers.get('from')!),
    remoteTarget: contactTarget(req.headers.get('contact'), addressUri(req.headers.get('from')!)),
    routeSet: req.headers.values('record-route'),
    localSeq: 0,
    remoteSeq: parseCSeq(req.headers.get('cseq')!).seq,
  };
}

/**
 * A request inside `d` (RFC 3261 12.2.1.1): Request-URI the remote target, Route the route set, From/To
 * with the dialog's tags, CSeq the next local number (or `cseq`, for the ACK to a 2xx and for CANCEL).
 */
export function inDialogRequest(d: Dialog, method: string, o: { via: string; cseq?: number; headers?: Array<[string, string]>; body?: { type: string; data: string | Uint8Array } }): SipRequest {
  const cseq = o.cseq ?? ++d.localSeq;
  return makeRequest({
    method, uri: d.remoteTarget,
    from: `${d.localUri};tag=${d.localTag}`, to: `${d.remoteUri};tag=${d.remoteTag}`,
    callId: d.callId, cseq, via: o.via,
    headers: [...d.routeSet.map((r) => ['Route', r] as [string, string]), ...(o.headers ?? [])],
    ...(o.body ? { body: o.body } : {}),
  });
}

/** The key a UA files a dialog under: Call-ID and its own tag. */
export const dialogKey = (callId: string, localTag: string): string => `${callId}\n${localTag}`;
