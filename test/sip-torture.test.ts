// The SIP torture tests of RFC 4475 (section 3) and RFC 5118 (section 4), their own bytes
// (test/vectors/sip-torture/, SOURCES.md says where they come from; SHA256SUMS is checked first). For each
// message the table below states the RFC section, what the RFC says of it, and what must happen here:
//
//   * valid messages parse to the fields the RFC names (`want`, compared one by one);
//   * every message is fed to a SipNode, which either hands the request to the application ('app'),
//     answers it itself with the status the RFC names (400, 416, 420, 501, 505), discards a response
//     that belongs to no transaction ('stray'), or drops what it cannot answer ('drop': a malformed
//     response, or a request without the headers a response copies).
//
// Where the RFC's answer belongs to a layer this library leaves to the roles (a registrar's 401, a UAS's
// 415, a proxy's 483), the parser must accept the message, the node passes it on, and `layer` says who
// answers. The node here is configured as a UA/registrar would be (`supported()`: its methods, the
// option tags it knows for Require and Proxy-Require).
//
// RFC 5118's archive has bare LF line ends, and two messages lack the empty line ending the headers; as
// SOURCES.md describes, each is fed in wire form (CRLF, header section terminated, Content-Length = body
// length), and also as archived (refused: RFC 3261 7 requires CRLF; nothing can be framed to answer).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as lib from '../src/index.js';
import { SipNode, type DatagramSocket, type Route } from '../src/ims/index.js';

const { addressUri, headerParam, parseCSeq, parseSipMessage, parseVia, serializeSipMessage } = lib;
type SipMessage = lib.SipMessage;
type SipRequest = lib.SipRequest;

const DIR = new URL('./vectors/sip-torture/', import.meta.url);
const read = (path: string): Uint8Array => new Uint8Array(readFileSync(new URL(path, DIR)));

/** What the node must do with the message. */
type Outcome = 'app' | 'stray' | 'drop' | 400 | 416 | 420 | 501 | 505;

interface Case {
  file: string;
  /** RFC 4475 section 3.x or RFC 5118 section 4.x. */
  section: string;
  /** What the RFC says of the message (shortened). */
  rfc: string;
  node: Outcome;
  /** For refusals: what the Warning (or Unsupported) must name. */
  why?: RegExp;
  /** For 'app': which layer gives the answer the RFC names, if any. */
  layer?: string;
  /** Fields the RFC names, as {@link FACTS} reads them. */
  want?: Record<string, unknown>;
}

const decode = (s: string | undefined): string | undefined => (s === undefined ? undefined : decodeURIComponent(s));
const sipUriOf = (u: string): lib.SipUri | undefined => (/^sips?:/i.test(u) ? lib.parseSipUri(u) : undefined);
const vias = (m: SipMessage): ReturnType<typeof parseVia>[] => m.headers.values('via').map(parseVia);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Readers of the fields the table names. */
const FACTS: Record<string, (m: SipMessage) => unknown> = {
  method: (m) => (m.type === 'request' ? m.method : undefined),
  uri: (m) => (m.type === 'request' ? m.uri : undefined),
  status: (m) => (m.type === 'response' ? m.status : undefined),
  reason: (m) => (m.type === 'response' ? m.reason : undefined),
  ruriUser: (m) => (m.type === 'request' ? sipUriOf(m.uri)?.user : undefined),
  ruriUserDecoded: (m) => (m.type === 'request' ? decode(sipUriOf(m.uri)?.user) : undefined),
  ruriHost: (m) => (m.type === 'request' ? sipUriOf(m.uri)?.host : undefined),
  ruriPort: (m) => (m.type === 'request' ? sipUriOf(m.uri)?.port : undefined),
  ruriScheme: (m) => (m.type === 'request' ? m.uri.slice(0, m.uri.indexOf(':')) : undefined),
  fromUri: (m) => addressUri(m.headers.get('from')!),
  fromUserDecoded: (m) => decode(sipUriOf(addressUri(m.headers.get('from')!))?.user),
  fromTag: (m) => headerParam(m.headers.get('from')!, 'tag'),
  fromDisplay: (m) => lib.parseNameAddr(m.headers.get('from')!).displayName,
  toUri: (m) => addressUri(m.headers.get('to')!),
  toUserDecoded: (m) => decode(sipUriOf(addressUri(m.headers.get('to')!))?.user),
  toHostPort: (m) => { const u = sipUriOf(addressUri(m.headers.get('to')!)); return u && [u.host, u.port]; },
  toTag: (m) => headerParam(m.headers.get('to')!, 'tag'),
  toDisplay: (m) => lib.parseNameAddr(m.headers.get('to')!).displayName,
  callId: (m) => m.headers.get('call-id'),
  cseq: (m) => parseCSeq(m.headers.get('cseq')!),
  maxForwards: (m) => m.headers.get('max-forwards'),
  vias: (m) => m.headers.values('via').length,
  viaTransports: (m) => vias(m).map((v) => v.transport),
  viaHosts: (m) => vias(m).map((v) => v.host),
  viaPorts: (m) => vias(m).map((v) => v.port),
  topVia: (m) => { const v = vias(m)[0]!; return [v.transport, v.host, v.port, v.branch]; },
  viaReceived: (m) => m.headers.values('via').map((v) => headerParam(v, 'received')),
  contacts: (m) => m.headers.values('contact').map(addressUri),
  contactHosts: (m) => m.headers.values('contact').map((c) => sipUriOf(addressUri(c))?.host),
  contentLength: (m) => m.headers.get('content-length'),
  contentType: (m) => m.headers.get('content-type'),
  body: (m) => m.body.length,
};

/** Fields read by a function of their own. */
const extra = (m: SipMessage, name: string): unknown => {
  switch (name) {
    case 'wsinv': return {
      contactDisplay: lib.parseNameAddr(m.headers.get('contact')!).displayName, q: headerParam(m.headers.get('contact')!, 'q'),
      newparam: headerParam(m.headers.get('contact')!, 'newparam'), route: addressUri(m.headers.get('route')!),
      newFangled: m.headers.get('NewFangledHeader'), unusual: m.headers.get('UnknownHeaderWithUnusualValue'), subject: m.headers.get('subject'),
    };
    case 'intmeth': return { fromParam: headerParam(m.headers.get('from')!, "fromParam''~+*_!.-%"), ext: m.headers.get("extensionHeader-!.%*+_`'~") };
    case 'esc01': return { contactParams: sipUriOf(addressUri(m.headers.get('contact')!))!.params };
    case 'esc02': return { other: m.headers.get('C%6Fntact') };
    case 'mpart01': return { boundary: headerParam(m.headers.get('content-type')!, 'boundary'), nul: m.body.includes(0), first: text(m.body.subarray(0, 18)) };
    case 'cparam01': return { param: headerParam(m.headers.get('contact')!, 'unknownparam') };
    case 'cparam02': return { param: headerParam(m.headers.get('contact')!, 'unknownparam') };
    case 'regescrt': return { headers: sipUriOf(addressUri(m.headers.get('contact')!))!.headers };
    case 'regaut01': return { authorization: m.headers.get('authorization') };
    case 'sdp01': return { accept: m.headers.get('accept') };
    case 'ipv6-in-sdp': return { c: text(m.body).includes('c=IN IP6 2001:db8::20') };
    case 'mult-ip-in-sdp': return { c4: text(m.body).includes('c=IN IP4 192.0.2.1'), c6: text(m.body).includes('c=IN IP6 2001:db8::1') };
    default: return undefined;
  }
};

const RFC4475: Case[] = [
  // 3.1.1 Valid messages
  { file: 'wsinv', section: '3.1.1.1', rfc: 'A short tortuous INVITE: folding, escapes in quotes, LWS everywhere, compact and long forms, leading zeros; well formed', node: 'app',
    want: { method: 'INVITE', uri: 'sip:vivekg@chair-dnrc.example.com;unknownparam', toTag: '1918181833n', fromTag: '98asjd8', fromDisplay: 'J Rosenberg \\"', fromUri: 'sip:jdrosen@example.com',
      callId: 'wsinv.ndaksdj@192.0.2.1', cseq: { seq: 9, method: 'INVITE' }, maxForwards: '0068', vias: 3, viaTransports: ['UDP', 'TCP', 'UDP'],
      topVia: ['UDP', '192.0.2.2', undefined, '390skdjuw'], viaHosts: ['192.0.2.2', 'spindle.example.com', '192.168.255.111'], contentLength: '150', body: 150,
      extra: { contactDisplay: 'Quoted string ""', q: '0.33', newparam: 'newvalue', route: 'sip:services.example.com;lr;unknownwith=value;unknown-no-value',
        newFangled: 'newfangled value continued newfangled value', unusual: ';;,,;;,;', subject: '' } } },
  { file: 'intmeth', section: '3.1.1.2', rfc: 'Wide range of valid characters in method, Request-URI, branch, display names, tags, Call-ID; well formed', node: 501,
    layer: 'its method is unknown: a UAS answers 501 (RFC 3261 8.2.1); the node does, from its supported methods', why: /not implemented/,
    want: { method: "!interesting-Method0123456789_*+`.%indeed'~", ruriUser: "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)", ruriHost: 'example.com',
      topVia: ['TCP', 'host1.example.com', undefined, "z9hG4bK-.!%66*_+`'~"], toDisplay: 'BEL:\x07 NUL:\x00 DEL:\x7f', fromDisplay: "token1~` token2'+_ token3*%!.-",
      fromTag: "_token~1'+`*%!-.", callId: "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{", cseq: { seq: 139122385, method: "!interesting-Method0123456789_*+`.%indeed'~" },
      maxForwards: '255', body: 0, extra: { fromParam: 'работающий', ext: '大停電' } } },
  { file: 'esc01', section: '3.1.1.3', rfc: 'Valid % escaping: sips:user@example.com in the Request-URI userpart, escapes in From/To userparts and Contact parameters', node: 'app',
    want: { ruriUser: 'sips%3Auser%40example.com', ruriUserDecoded: 'sips:user@example.com', ruriHost: 'example.net', fromUserDecoded: 'I have spaces', toUserDecoded: 'user',
      contacts: ['sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31'], body: 150, extra: { contactParams: ';%6C%72;n%61me=v%61lue%25%34%31' } } },
  { file: 'escnull', section: '3.1.1.4', rfc: 'Escaped nulls in URIs: From/To user null-%00-null, two distinct Contacts', node: 'app',
    want: { method: 'REGISTER', fromUserDecoded: 'null-\0-null', toUserDecoded: 'null-\0-null', contacts: ['sip:%00@host5.example.com', 'sip:%00%00@host5.example.com'], contentLength: '0', body: 0 } },
  { file: 'esc02', section: '3.1.1.5', rfc: '% that is not an escape: method RE%47IST%45R is unknown, NOT REGISTER; display names %Z%45; two Contact values, not three; an endpoint answers 501', node: 501, why: /not implemented/,
    want: { method: 'RE%47IST%45R', toDisplay: '%Z%45', fromDisplay: '%Z%45', contacts: ['sip:alias1@host1.example.com', 'sip:alias3@host3.example.com'],
      topVia: ['TCP', 'host.example.com', undefined, 'z9hG4bK209%fzsnel234'], extra: { other: '<sip:alias2@host2.example.com>' } } },
  { file: 'lwsdisp', section: '3.1.1.6', rfc: 'No LWS between display name and <: accept as well formed', node: 'app',
    want: { fromDisplay: 'caller', fromUri: 'sip:caller@example.com', fromTag: '323' } },
  { file: 'longreq', section: '3.1.1.7', rfc: 'Long values: long display name and URI parameters, long tag, Call-ID, header name, many Via values; well formed', node: 'app',
    want: { method: 'INVITE', vias: 34, toHostPort: ['example.com', 6000], contentLength: '150', body: 150,
      callId: 'longreq.onereallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallylongcallid' } },
  { file: 'dblreq', section: '3.1.1.8', rfc: 'Extra trailing octets in a UDP datagram (they look like an INVITE): handle the REGISTER, ignore the rest', node: 'app',
    want: { method: 'REGISTER', callId: 'dblreq.0ha0isndaksdj99sdfafnl3lk233412', contentLength: '0', body: 0, vias: 1 } },
  { file: 'semiuri', section: '3.1.1.9', rfc: 'Semicolon-separated parameter in the Request-URI user part: user is "user;par=u@example.net"', node: 'app',
    want: { ruriUser: 'user;par=u%40example.net', ruriUserDecoded: 'user;par=u@example.net', ruriHost: 'example.com' } },
  { file: 'transports', section: '3.1.1.10', rfc: 'Via values with every known transport and an unknown one; well formed', node: 'app',
    want: { vias: 5, viaTransports: ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP'] } },
  { file: 'mpart01', section: '3.1.1.11', rfc: 'Multipart MIME MESSAGE, binary part with NULs: frame it properly, accept it', node: 'app',
    want: { method: 'MESSAGE', contentType: 'multipart/mixed;boundary=7a9cbec02ceef655', contentLength: '553', body: 553, extra: { boundary: '7a9cbec02ceef655', nul: true, first: '--7a9cbec02ceef655' } } },
  { file: 'unreason', section: '3.1.1.12', rfc: 'Unusual (UTF-8) reason phrase; a parser must accept it', node: 'stray',
    want: { status: 200, reason: '= 2**3 * 5**2 но сто девяносто девять - простое', body: 154 } },
  { file: 'noreason', section: '3.1.1.13', rfc: 'Empty reason phrase (the SP after the code is there); a parser must accept it', node: 'stray',
    want: { status: 100, reason: '', toTag: '902jndnke3' } },
  // 3.1.2 Invalid messages
  { file: 'badinv01', section: '3.1.2.1', rfc: 'Extraneous ; and , in Via and Contact: invalid, respond 400', node: 400, why: /Via.*empty/ },
  { file: 'clerr', section: '3.1.2.2', rfc: 'Content-Length larger than the message, over UDP: respond 400', node: 400, why: /Content-Length 9999 exceeds/ },
  { file: 'ncl', section: '3.1.2.3', rfc: 'Negative Content-Length: respond with an error (UDP: discard the rest of the datagram)', node: 400, why: /Content-Length/ },
  { file: 'scalar02', section: '3.1.2.4', rfc: 'Overlarge scalar values: respond 400 because of the CSeq', node: 400, why: /CSeq/ },
  { file: 'scalarlg', section: '3.1.2.5', rfc: 'Response with overlarge scalar values: discard it', node: 'drop' },
  { file: 'quotbal', section: '3.1.2.6', rfc: 'Unterminated quoted string in the To display name: return 400', node: 400, why: /To.*unterminated quoted/ },
  { file: 'ltgtruri', section: '3.1.2.7', rfc: '<> enclosing the Request-URI: reasonable to reject with 400', node: 400, why: /Request-URI/ },
  { file: 'lwsruri', section: '3.1.2.8', rfc: 'LWS inside the Request-URI: respond 400', node: 400, why: /request line/ },
  { file: 'lwsstart', section: '3.1.2.9', rfc: 'Multiple SP between Request-Line elements: acceptable to reject as malformed', node: 400, why: /request line/ },
  { file: 'trws', section: '3.1.2.10', rfc: 'SP at the end of the Request-Line: acceptable to reject as malformed', node: 400, why: /request line/ },
  { file: 'escruri', section: '3.1.2.11', rfc: 'Escaped headers in the Request-URI: acceptable to reject with 400', node: 400, why: /headers .* not allowed in a Request-URI/ },
  { file: 'baddate', section: '3.1.2.12', rfc: 'Non-GMT Date: reject only if Date matters to the element, else ignore it', node: 'app',
    layer: 'no role of this library reads Date, so it is ignored' },
  { file: 'regbadct', section: '3.1.2.13', rfc: 'Contact URI with an escaped header outside <>: reasonable to respond 400', node: 400, why: /Contact.*enclosed in </ },
  { file: 'badaspec', section: '3.1.2.14', rfc: 'Spaces inside the To addr-spec: reasonable to reject with 400', node: 400, why: /To.*whitespace/ },
  { file: 'baddn', section: '3.1.2.15', rfc: 'Unquoted non-token display names: reasonable always to reject with 400 (the archive also lacks the empty line)', node: 400, why: /empty line/ },
  { file: 'badvers', section: '3.1.2.16', rfc: 'SIP/7.0: respond 505 Version Not Supported', node: 505, why: /SIP\/7\.0/ },
  { file: 'mismatch01', section: '3.1.2.17', rfc: 'Start line and CSeq method differ: respond 400', node: 400, why: /CSeq method INVITE does not match OPTIONS/ },
  { file: 'mismatch02', section: '3.1.2.18', rfc: 'Unknown method with a different CSeq method: respond 501 (400 also acceptable)', node: 501, why: /CSeq method/ },
  { file: 'bigcode', section: '3.1.2.19', rfc: 'Response code above 699: drop it', node: 'drop' },
  // 3.2 Transaction layer
  { file: 'badbranch', section: '3.2.1', rfc: 'Branch "z9hG4bK" with no identifier: reject with 400, or fall back to RFC 2543 matching', node: 'app',
    layer: 'the transaction layer falls back to RFC 2543 matching (see the transaction test below)', want: { topVia: ['UDP', '192.0.2.1', undefined, 'z9hG4bK'] } },
  // 3.3 Application layer
  { file: 'insuf', section: '3.3.1', rfc: 'No Call-ID, From or To: must not break; ideally 400', node: 'drop',
    layer: 'a response must copy From, To and Call-ID (RFC 3261 8.2.6.2): without them no answer can be built, so it is dropped and counted' },
  { file: 'unkscm', section: '3.3.2', rfc: 'Unknown Request-URI scheme: well formed; reject with 416', node: 416, why: /nobodyknowsthisscheme/,
    want: { ruriScheme: 'nobodyKnowsThisScheme', uri: 'nobodyKnowsThisScheme:totallyopaquecontent' } },
  { file: 'novelsc', section: '3.3.3', rfc: 'Known but atypical scheme (soap.beep): well formed; 416 if never accepted', node: 416, why: /soap\.beep/,
    want: { ruriScheme: 'soap.beep' } },
  { file: 'unksm2', section: '3.3.4', rfc: 'Other schemes in To, From, Contact: well formed; a registrar answers 400 (To must be sip/sips)', node: 'app',
    layer: 'registrar (ImsCore): its AOR check', want: { toUri: 'isbn:2983792873', fromUri: 'http://www.example.com', contacts: ['name:John_Smith'] } },
  { file: 'bext01', section: '3.3.5', rfc: 'Unknown Require and Proxy-Require tags: 420 with Unsupported listing them', node: 420,
    why: /^nothingSupportsThis, nothingSupportsThisEither, noProxiesSupportThis, norDoAnyProxiesSupportThis$/ },
  { file: 'invut', section: '3.3.6', rfc: 'Unknown Content-Type: well formed; an endpoint answers 415, a proxy forwards', node: 'app',
    layer: 'UAS application (415) or proxy (forwards)', want: { contentType: 'application/unknownformat', body: 40 } },
  { file: 'regaut01', section: '3.3.7', rfc: 'Unknown Authorization scheme: well formed; a registrar that authenticates answers 401', node: 'app',
    layer: 'registrar (ImsCore) challenges', want: { method: 'REGISTER', extra: { authorization: 'NoOneKnowsThisScheme opaque-data=here' } } },
  { file: 'multi01', section: '3.3.8', rfc: 'Several Call-ID, To, From, Max-Forwards, CSeq values: respond 400', node: 400, why: /repeated/ },
  { file: 'mcl01', section: '3.3.9', rfc: 'Conflicting Content-Length values: respond with an error (UDP: discard the rest)', node: 400, why: /Content-Length repeated/ },
  { file: 'bcast', section: '3.3.10', rfc: '200 with a 255.255.255.255 Via: well formed; an endpoint discards it, a proxy drops it', node: 'stray',
    want: { status: 200, viaHosts: ['192.0.2.198', '255.255.255.255'] } },
  { file: 'zeromf', section: '3.3.11', rfc: 'Max-Forwards 0: a proxy answers 483, an endpoint processes it', node: 'app',
    layer: 'P-CSCF (483); an endpoint processes it', want: { maxForwards: '0' } },
  { file: 'cparam01', section: '3.3.12', rfc: '"unknownparam" is a contact-param, not a url-param', node: 'app',
    want: { contacts: ['sip:+19725552222@gw1.example.net'], extra: { param: '' } } },
  { file: 'cparam02', section: '3.3.13', rfc: '"unknownparam" is a url-param of the Contact URI', node: 'app',
    want: { contacts: ['sip:+19725552222@gw1.example.net;unknownparam'], extra: { param: undefined } } },
  { file: 'regescrt', section: '3.3.14', rfc: 'Contact URI with an escaped Route header: the REGISTER succeeds', node: 'app',
    want: { contacts: ['sip:user@example.com?Route=%3Csip:sip.example.com%3E'], extra: { headers: 'Route=%3Csip:sip.example.com%3E' } } },
  { file: 'sdp01', section: '3.3.15', rfc: 'Accept without application/sdp: a UAS may answer 406 (with Warning 399) or 400', node: 'app',
    layer: 'UAS application', want: { extra: { accept: 'text/nobodyKnowsThis' } } },
  // 3.4 Backward compatibility
  { file: 'inv2543', section: '3.4.1', rfc: 'RFC 2543 INVITE: no branch, no From tag, no Content-Length (body = rest of datagram), no Max-Forwards; accept it', node: 'app',
    want: { topVia: ['UDP', 'iftgw.example.com', undefined, undefined], fromTag: undefined, contentLength: undefined, maxForwards: undefined, body: 105 } },
  // In the archive, described by no section.
  { file: 'test', section: '-', rfc: 'Not described by RFC 4475 (in its archive only): no SIP-Version, a header line without a colon, no Via', node: 'drop',
    layer: 'no Via to answer along (RFC 3261 8.2.6.2)' },
];

const RFC5118: Case[] = [
  { file: 'ipv6-good', section: '4.1', rfc: 'IPv6 references in the Request-URI, Via and Contact; well formed', node: 'app',
    want: { ruriHost: '[2001:db8::10]', ruriPort: undefined, topVia: ['UDP', '[2001:db8::9:1]', undefined, 'z9hG4bKas3-111'], contactHosts: ['[2001:db8::1]'] } },
  { file: 'ipv6-bad', section: '4.2', rfc: 'IPv6 address in the Request-URI without [ ]: respond 400', node: 400, why: /Request-URI.*IPv6/ },
  { file: 'port-ambiguous', section: '4.3', rfc: 'sip:[2001:db8::10:5070]: well formed, the address has no port', node: 'app',
    want: { ruriHost: '[2001:db8::10:5070]', ruriPort: undefined } },
  { file: 'port-unambiguous', section: '4.4', rfc: 'sip:[2001:db8::10]:5070: port 5070; well formed', node: 'app',
    want: { ruriHost: '[2001:db8::10]', ruriPort: 5070 } },
  { file: 'via-received-param-with-delim', section: '4.5', rfc: 'received=[...] with delimiters: parse the top Via and go on (robustness)', node: 'app',
    want: { method: 'BYE', viaReceived: ['[2001:db8::9:255]'], topVia: ['UDP', '[2001:db8::9:1]', undefined, 'z9hG4bKas3-111'] } },
  { file: 'via-received-param-no-delim', section: '4.5', rfc: 'received=2001:db8::9:255 without delimiters: valid', node: 'app',
    want: { method: 'OPTIONS', viaReceived: ['2001:db8::9:255'] } },
  { file: 'ipv6-in-sdp', section: '4.6', rfc: 'IPv6 addresses in the SDP body (no [ ]); valid', node: 'app',
    want: { ruriHost: '[2001:db8::10]', extra: { c: true } } },
  { file: 'mult-ip-in-header', section: '4.7', rfc: 'Via list mixing IPv4 and IPv6 references; valid', node: 'app',
    want: { vias: 3, viaHosts: ['[2001:db8::9:1]', '192.0.2.1', '[2001:db8::9:255]'], viaPorts: [6050, undefined, undefined], viaTransports: ['UDP', 'UDP', 'TCP'],
      viaReceived: [undefined, undefined, '192.0.2.200'] } },
  { file: 'mult-ip-in-sdp', section: '4.8', rfc: 'Media lines with IPv4 and IPv6 connection addresses; valid', node: 'app',
    want: { extra: { c4: true, c6: true } } },
  { file: 'ipv4-mapped-ipv6', section: '4.9', rfc: 'IPv4-mapped IPv6 addresses in Via, Contact and SDP; top Via port outside "]"; well formed', node: 'app',
    want: { viaHosts: ['[::ffff:192.0.2.10]', '[::ffff:192.0.2.2]'], viaPorts: [19823, undefined], contactHosts: ['[::ffff:192.0.2.2]'] } },
  { file: 'ipv6-bug-abnf-3-colons', section: '4.10', rfc: 'Extra colon in the IPv6 reference (RFC 3261 ABNF bug): may be parsed robustly', node: 'app',
    want: { ruriHost: '[2001:db8:::192.0.2.1]' } },
  { file: 'ipv6-correct-abnf-2-colons', section: '4.10', rfc: 'The correct two-colon form', node: 'app',
    want: { ruriHost: '[2001:db8::192.0.2.1]' } },
];

/** RFC 5118 wire form (SOURCES.md): CRLF line ends, header section terminated, Content-Length = body length. */
function wireForm(raw: Uint8Array): Uint8Array {
  let t = Buffer.from(raw).toString('latin1').replace(/\n/g, '\r\n');
  if (!t.includes('\r\n\r\n')) t += '\r\n';
  const end = t.indexOf('\r\n\r\n');
  const body = t.slice(end + 4);
  const head = t.slice(0, end).replace(/^Content-Length: \d+$/im, `Content-Length: ${body.length}`);
  return new Uint8Array(Buffer.from(`${head}\r\n\r\n${body}`, 'latin1'));
}

/**
 * The status and headers of a response the node sent, read without the parser's checks: a response to a
 * malformed request copies its Via, From and To as they came (RFC 3261 8.2.6.2), faults included.
 */
function readResponse(bytes: Uint8Array): { status: number; headers: lib.SipHeaders } | undefined {
  const lines = new TextDecoder().decode(bytes).split('\r\n\r\n')[0]!.split('\r\n');
  const m = /^SIP\/2\.0 (\d{3}) /.exec(lines[0]!);
  if (!m) return undefined;
  const headers = new lib.SipHeaders();
  for (const l of lines.slice(1)) headers.add(l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim());
  return { status: Number(m[1]), headers };
}

/** A SipNode set up as a UA/registrar, and what it did with one datagram. */
function feed(bytes: Uint8Array): { outcome: Outcome | string; response?: { status: number; headers: lib.SipHeaders }; request?: SipRequest; malformed: number } {
  const sent: Uint8Array[] = [];
  const socket: DatagramSocket = { address: '192.0.2.100', port: 5060, send: (d) => sent.push(d), onMessage: () => {}, close: () => {} };
  const node = new SipNode('torture-uas');
  node.supported({ methods: ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'MESSAGE'], require: ['sec-agree', 'path'], proxyRequire: ['sec-agree'] });
  const seen: SipRequest[] = [];
  node.onRequest((i) => seen.push(i.request));
  const route: Route = { kind: 'plain', socket, address: '198.51.100.7', port: 5060 };
  try {
    node.receive(bytes, route);
  } finally {
    node.close();
  }
  if (seen.length === 1 && sent.length === 0) return { outcome: 'app', request: seen[0]!, malformed: node.malformed };
  if (seen.length === 0 && sent.length === 1) {
    const r = readResponse(sent[0]!);
    return r ? { outcome: r.status as Outcome, response: r, malformed: node.malformed } : { outcome: 'sent something else', malformed: node.malformed };
  }
  if (seen.length === 0 && sent.length === 0) return { outcome: node.malformed === 1 ? 'drop' : 'stray', malformed: node.malformed };
  return { outcome: `handler saw ${seen.length}, node sent ${sent.length}`, malformed: node.malformed };
}

const show = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x === undefined ? '(undefined)' : x));

function checkCase(c: Case, bytes: Uint8Array, problems: string[]): void {
  const label = `${c.file} (${c.section === '-' ? 'no section' : c.section})`;
  // Fields: the message must parse (valid ones, and the application-layer ones) to what the RFC names.
  if (c.want) {
    let m: SipMessage;
    try {
      m = parseSipMessage(bytes);
    } catch (e) {
      problems.push(`${label}: does not parse: ${(e as Error).message}`);
      return;
    }
    for (const [k, want] of Object.entries(c.want)) {
      let got: unknown;
      try {
        got = k === 'extra' ? extra(m, c.file) : FACTS[k]!(m);
      } catch (e) {
        got = `threw ${(e as Error).message}`;
      }
      if (show(got) !== show(want)) problems.push(`${label}: ${k} is ${show(got)}, want ${show(want)}`);
    }
    // What parses survives serialisation: the same headers and body come back.
    const again = parseSipMessage(serializeSipMessage(m));
    const strip = (x: SipMessage): string => show([[...x.headers].filter(([n]) => n !== 'Content-Length'), [...x.body]]);
    if (strip(again) !== strip(m)) problems.push(`${label}: serialise/parse round trip differs`);
  }
  const r = feed(bytes);
  if (r.outcome !== c.node) {
    problems.push(`${label}: node outcome ${show(r.outcome)}, want ${show(c.node)}`);
    return;
  }
  if (r.response) {
    const res = r.response;
    const why = res.status === 420 ? res.headers.get('unsupported') : res.headers.get('warning');
    if (c.why && !(why !== undefined && c.why.test(why))) problems.push(`${label}: ${res.status} names ${show(why)}, want ${c.why}`);
    // A response copies Call-ID, CSeq and From, and a final response tags To (RFC 3261 8.2.6.2).
    const req = new TextDecoder().decode(bytes);
    for (const h of ['call-id', 'cseq']) if (!req.includes(res.headers.get(h)!)) problems.push(`${label}: ${h} not copied into the ${res.status}`);
    if (headerParam(res.headers.get('to')!, 'tag') === undefined && !/"/.test(res.headers.get('to')!)) problems.push(`${label}: the ${res.status} has no To tag`);
  }
}

test('the vectors are the archived bytes (SHA256SUMS)', () => {
  const sums = readFileSync(new URL('SHA256SUMS', DIR), 'utf8').trim().split('\n');
  assert.is(sums.length, 62);
  for (const line of sums) {
    const [sum, path] = line.split(/\s+/);
    assert.is(createHash('sha256').update(read(path!)).digest('hex'), sum, path);
  }
  assert.is(RFC4475.length, 50);
  assert.is(RFC5118.length, 12);
});

test('RFC 4475: every message parses to the fields the RFC names, and the node does what the RFC says', () => {
  const problems: string[] = [];
  for (const c of RFC4475) checkCase(c, read(`rfc4475/${c.file}.dat`), problems);
  assert.equal(problems, []);
});

test('RFC 4475 3.1.2.15: the display names themselves are refused, not only the archive framing', () => {
  const problems: string[] = [];
  const raw = read('rfc4475/baddn.dat');
  const terminated = new Uint8Array([...raw, 13, 10]);
  checkCase({ file: 'baddn', section: '3.1.2.15', rfc: '', node: 400, why: /From.*display name/ }, terminated, problems);
  assert.equal(problems, []);
});

test('RFC 5118: in wire form every message parses to the fields the RFC names, and the node does what the RFC says', () => {
  const problems: string[] = [];
  for (const c of RFC5118) checkCase(c, wireForm(read(`rfc5118/${c.file}`)), problems);
  assert.equal(problems, []);
  // As archived (bare LF, RFC 3261 7 requires CRLF): refused, and nothing can be framed to answer it.
  for (const c of RFC5118) {
    const raw = read(`rfc5118/${c.file}`);
    assert.ok(!raw.includes(13), c.file);
    assert.throws(() => parseSipMessage(raw), (e: { code?: string }) => e.code === 'SIP_PARSE', c.file);
    assert.is(feed(raw).outcome, 'drop', c.file);
  }
});

test('RFC 2543 requests (RFC 4475 3.1.1.1, 3.2.1, 3.4.1) are matched to their transaction by RFC 3261 17.2.3, not dropped', () => {
  for (const file of ['inv2543', 'wsinv', 'badbranch']) {
    const bytes = read(`rfc4475/${file}.dat`);
    const sent: Uint8Array[] = [];
    const socket: DatagramSocket = { address: '192.0.2.100', port: 5060, send: (d) => sent.push(d), onMessage: () => {}, close: () => {} };
    const node = new SipNode('uas');
    let seen = 0;
    node.onRequest((i) => {
      seen++;
      i.respond({ type: 'response', status: 486, reason: 'Busy Here', headers: i.request.headers.clone(), body: new Uint8Array(0) });
    });
    const route: Route = { kind: 'plain', socket, address: '198.51.100.7', port: 5060 };
    node.receive(bytes, route);
    node.receive(bytes, route); // a retransmission: absorbed, the last response sent again
    assert.is(seen, 1, `${file}: the application sees the request once`);
    assert.is(sent.length, 2, `${file}: the response, then again for the retransmission`);
    assert.equal(sent[1], sent[0], file);
    // The same request with another CSeq number is another transaction.
    const other = new TextDecoder().decode(bytes).replace(/^(CSeq|cseq):\s*0*(\d+)/m, (_s, n: string, d: string) => `${n}: ${Number(d) + 1}`);
    node.receive(new TextEncoder().encode(other), route);
    assert.is(seen, 2, `${file}: a new CSeq is a new transaction`);
    node.close();
  }
});

test.run();
