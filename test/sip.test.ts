// SIP messages and transactions (RFC 3261): parsing and serialisation (compact forms, repeated and
// comma-joined values, folding, Content-Length, bodies), strict errors, and non-INVITE transactions with
// UDP retransmission over a lossy in-memory link.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SipHeaders, TransactionLayer, addressUri, headerParam, parseSipMessage, parseVia, serializeSipMessage, splitList,
  type SipMessage, type SipRequest, type SipResponse,
} from '../src/index.js';
import { throwsCode } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

const REGISTER = [
  'REGISTER sip:ims.example.org SIP/2.0',
  'v: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7,SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1',
  'Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK2',
  'Max-Forwards: 70',
  'f: <sip:alice@ims.example.org>;tag=456248',
  't: <sip:alice@ims.example.org>',
  'i: 843817637684230@998sdasdh09',
  'CSeq: 1826 REGISTER',
  'm: <sip:alice@192.0.2.10:5064>;expires=600',
  'Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1111;spi-s=2222;port-c=5062;port-s=5064,',
  ' ipsec-3gpp;alg=hmac-md5-96;spi-c=1111;spi-s=2222;port-c=5062;port-s=5064',
  'Authorization: Digest username="alice",realm="ims.example.org",nonce="",uri="sip:ims.example.org",response=""',
  'Require: sec-agree',
  'Proxy-Require: sec-agree',
  'Supported: path, sec-agree',
  'c: text/plain',
  'l: 5',
  '',
  'hello',
].join('\r\n');

test('parse: compact forms, folded lines, repeated and comma-joined values, Content-Length, body', () => {
  const m = parseSipMessage(enc(REGISTER)) as SipRequest;
  assert.is(m.type, 'request');
  assert.is(m.method, 'REGISTER');
  assert.is(m.uri, 'sip:ims.example.org');
  assert.is(m.headers.values('via').length, 3);
  assert.is(parseVia(m.headers.values('Via')[0]!).branch, 'z9hG4bKnashds7');
  assert.is(m.headers.get('Call-ID'), '843817637684230@998sdasdh09');
  assert.is(m.headers.values('security-client').length, 2, 'folded header unfolded and split');
  assert.is(m.headers.values('Authorization').length, 1, 'Authorization is never split at its commas');
  assert.equal(m.headers.values('supported'), ['path', 'sec-agree']);
  assert.is(new TextDecoder().decode(m.body), 'hello');
  assert.is(addressUri(m.headers.get('from')!), 'sip:alice@ims.example.org');
  assert.is(headerParam(m.headers.get('from')!, 'tag'), '456248');
  assert.is(headerParam(m.headers.get('contact')!, 'expires'), '600');
  // Serialising writes full names and a fresh Content-Length; parsing it again gives the same message.
  const again = parseSipMessage(serializeSipMessage(m)) as SipRequest;
  assert.equal([...again.headers].map(([n]) => n).slice(0, 3), ['Via', 'Via', 'Max-Forwards']);
  assert.is(again.headers.get('content-length'), '5');
  assert.equal([...again.headers].filter(([n]) => n !== 'Content-Length'), [...m.headers].filter(([n]) => n !== 'Content-Length'));
  // Over UDP without Content-Length the body runs to the end of the datagram; extra bytes after it are cut.
  const noCl = REGISTER.replace('l: 5\r\n', '');
  assert.is(new TextDecoder().decode(parseSipMessage(enc(noCl)).body), 'hello');
  assert.is(new TextDecoder().decode(parseSipMessage(enc(REGISTER.replace('l: 5', 'l: 3'))).body), 'hel');
  const resp = parseSipMessage(enc('SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\n\r\n')) as SipResponse;
  assert.is(resp.status, 401);
  assert.is(resp.reason, 'Unauthorized');
});

test('headers: set, prepend, shift, remove keep order', () => {
  const h = new SipHeaders([['Via', 'SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2'], ['From', 'x'], ['Route', '<sip:p>']]);
  h.prepend('v', 'SIP/2.0/UDP c;branch=z9hG4bK0');
  assert.is(h.values('via').length, 3);
  assert.is(h.shift('via'), 'SIP/2.0/UDP c;branch=z9hG4bK0');
  assert.is(h.shift('via'), 'SIP/2.0/UDP a;branch=z9hG4bK1');
  assert.equal(h.values('via'), ['SIP/2.0/UDP b;branch=z9hG4bK2']);
  h.set('from', 'y').remove('route');
  assert.equal([...h], [['Via', 'SIP/2.0/UDP b;branch=z9hG4bK2'], ['From', 'y']]);
  assert.equal(splitList('"a, b" <sip:x,y>;p=1, <sip:z>'), ['"a, b" <sip:x,y>;p=1', '<sip:z>']);
});

test('strict errors: SIP_PARSE with the line', () => {
  const bad: Array<[string, string]> = [
    ['REGISTER sip:x SIP/2.0\r\nVia: x\r\n', 'no empty line'],
    ['REGISTER sip:x SIP/1.0\r\n\r\n', 'bad request line'],
    ['SIP/2.0 99 X\r\n\r\n', 'bad status line'],
    [REGISTER.replace('Max-Forwards: 70', 'Max Forwards: 70'), 'bad header name'],
    [REGISTER.replace('Max-Forwards: 70', 'Max-Forwards 70'), 'header line without'],
    [REGISTER.replace('l: 5', 'l: 50'), 'exceeds'],
    [REGISTER.replace('l: 5', 'l: x'), 'bad Content-Length'],
    [REGISTER.replace('l: 5', 'l: 5\r\nContent-Length: 5'), 'repeated'],
    [REGISTER.replace('CSeq: 1826 REGISTER', 'CSeq: 1826 INVITE'), 'does not match'],
    [REGISTER.replace('i: 843817637684230@998sdasdh09\r\n', ''), 'missing Call-ID'],
  ];
  for (const [text, why] of bad) {
    try {
      parseSipMessage(enc(text));
      assert.unreachable(why);
    } catch (e) {
      assert.is((e as { code: string }).code, 'SIP_PARSE', why);
      assert.match((e as Error).message, why);
    }
  }
  throwsCode(() => parseSipMessage(new Uint8Array(70000)), 'SIP_PARSE');
});

function request(branch: string, method = 'REGISTER'): SipRequest {
  return {
    type: 'request', method, uri: 'sip:ims.example.org', body: new Uint8Array(0),
    headers: new SipHeaders([['Via', `SIP/2.0/UDP 192.0.2.10;branch=${branch}`], ['From', '<sip:a@x>;tag=1'], ['To', '<sip:a@x>'], ['Call-ID', 'c'], ['CSeq', `1 ${method}`]]),
  };
}

function reply(req: SipRequest, status: number, reason: string): SipResponse {
  return { type: 'response', status, reason, headers: req.headers.clone(), body: new Uint8Array(0) };
}

test('transactions: lost datagrams are retransmitted (Timer E), duplicates absorbed, last response resent', async () => {
  let dropToServer = 2; // the first two copies of the request are lost
  let dropToClient = 1; // and the first response
  let serverSeen = 0;
  let client!: TransactionLayer<'c'>;
  const server: TransactionLayer<'s'> = new TransactionLayer<'s'>((m) => {
    if (dropToClient-- > 0) return;
    client.receive(parseSipMessage(serializeSipMessage(m)), 'c');
  }, { t1: 10, t2: 40 });
  client = new TransactionLayer<'c'>((m) => {
    if (dropToServer-- > 0) return;
    const inc = server.receive(parseSipMessage(serializeSipMessage(m)), 's');
    if (inc.kind === 'request') {
      serverSeen++;
      inc.respond(reply(inc.request, 200, 'OK'));
    }
  }, { t1: 10, t2: 40 });
  const res = await client.request(request('z9hG4bK-a'), 'c');
  assert.is(res.status, 200);
  assert.is(serverSeen, 1, 'the application saw the request once');
  assert.ok(client.retransmissions >= 3, `retransmissions: ${client.retransmissions}`);
  client.close();
  server.close();
});

test('transactions: Timer F fails the transaction; provisional responses are passed on', async () => {
  const sent: SipMessage[] = [];
  const layer = new TransactionLayer<null>((m) => sent.push(m), { t1: 5, t2: 20 });
  const req = request('z9hG4bK-b');
  const started = Date.now();
  try {
    await layer.request(req, null);
    assert.unreachable();
  } catch (e) {
    assert.is((e as { code: string }).code, 'SIP_TRANSACTION');
  }
  assert.ok(Date.now() - started >= 300, 'about 64 * T1');
  assert.ok(sent.length >= 6);
  let provisional = 0;
  const req2 = request('z9hG4bK-c');
  const p = layer.request(req2, null, () => provisional++);
  layer.receive(reply(req2, 100, 'Trying'), null);
  layer.receive(reply(req2, 202, 'Accepted'), null);
  assert.is((await p).status, 202);
  assert.is(provisional, 1);
  assert.is(layer.receive(reply(req2, 202, 'Accepted'), null).kind, 'absorbed');
  assert.is(layer.receive(reply(request('z9hG4bK-zz'), 200, 'OK'), null).kind, 'stray');
  await assert.not.throws(() => layer.close());
});

test.run();
