// SIP messages and transactions (RFC 3261): parsing and serialisation (compact forms, repeated and
// comma-joined values, folding, Content-Length, bodies), strict errors, and non-INVITE transactions with
// UDP retransmission over a lossy in-memory link.

import type { SpawnSyncReturns } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as lib from '../src/index.js';
import {
  SipHeaders, TransactionLayer, addressUri, headerParam, parseSipMessage, parseVia, serializeSipMessage, splitList,
  type SipMessage, type SipRequest, type SipResponse,
} from '../src/index.js';
import { SipNode, type DatagramSocket, type Route } from '../src/ims/index.js';
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
    ['REGISTER sip:x SIP/1.0\r\n\r\n', 'SIP version SIP/1.0 is not supported'],
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

test('transactions: Timer K and Timer J end lingering transactions, not before their time; Timer E intervals double to T2', async () => {
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  // Client: Timer E at T1, 2*T1, 4*T1, then T2 (17.1.2.2); after the final response, retransmissions of it are
  // absorbed for T4 (Timer K), then the transaction is gone and the same response is a stray.
  const times: number[] = [];
  const client = new TransactionLayer<null>(() => times.push(performance.now()), { t1: 20, t2: 80, t4: 150 });
  const req = request('z9hG4bK-k');
  const p = client.request(req, null);
  await sleep(400);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  assert.ok(gaps.length >= 4, `retransmissions: ${gaps.length}`);
  for (const [i, want] of [20, 40, 80, 80].entries()) assert.ok(gaps[i]! >= want - 1, `gap ${i}: ${gaps[i]} ms, at least ${want}`);
  assert.is(client.receive(reply(req, 200, 'OK'), null).kind, 'response');
  assert.is((await p).status, 200);
  const sent = times.length;
  await sleep(100);
  assert.is(times.length, sent, 'no retransmission after the final response');
  assert.is(client.receive(reply(req, 200, 'OK'), null).kind, 'absorbed', 'within Timer K');
  const reuse = await client.request(request('z9hG4bK-k'), null).then(() => 'resolved', (e: { code?: string }) => e.code);
  assert.is(reuse, 'SIP_TRANSACTION', 'the branch is still taken within Timer K');
  await sleep(120);
  assert.is(client.receive(reply(req, 200, 'OK'), null).kind, 'stray', 'after Timer K');
  client.close();
  // Server: after the final response a retransmitted request gets it again for 64*T1 (Timer J), then it is new.
  const answers: SipMessage[] = [];
  const server = new TransactionLayer<null>((m) => answers.push(m), { t1: 5 });
  const first = server.receive(request('z9hG4bK-j'), null);
  assert.is(first.kind, 'request');
  if (first.kind === 'request') first.respond(reply(first.request, 200, 'OK'));
  await sleep(200);
  assert.is(server.receive(request('z9hG4bK-j'), null).kind, 'absorbed', 'within Timer J (320 ms)');
  assert.is(answers.length, 2, 'the last response sent again');
  await sleep(250);
  assert.is(server.receive(request('z9hG4bK-j'), null).kind, 'request', 'after Timer J');
  server.close();
});

test('transactions: a pending client transaction keeps the process alive until Timer F; a finished one does not', async () => {
  const { spawnSync } = await import('node:child_process');
  const src = new URL('../src/sip/transaction.ts', import.meta.url).href;
  const msg = new URL('../src/sip/message.ts', import.meta.url).href;
  const script = `import { TransactionLayer } from '${src}'; import { SipHeaders } from '${msg}';
    const h = new SipHeaders([['Via', 'SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-x'], ['From', '<sip:a@x>;tag=1'], ['To', '<sip:a@x>'], ['Call-ID', 'c'], ['CSeq', '1 OPTIONS']]);
    const t0 = Date.now();
    const layer = new TransactionLayer(() => {}, { t1: 10, t4: 60000 });
    layer.request({ type: 'request', method: 'OPTIONS', uri: 'sip:x', headers: h, body: new Uint8Array(0) }, null).catch((e) => console.log(e.code, Date.now() - t0 >= 600 ? 'late' : 'early'));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30000 });
  assert.is(r.stdout.trim(), 'SIP_TRANSACTION late', `stdout ${r.stdout} stderr ${r.stderr.slice(0, 300)}`);
  assert.ok(r.status === 0, 'and then exits although Timer K (60 s) is pending');
});

/**
 * Runs `body` (a module's code, with TransactionLayer, SipHeaders, parseSipMessage, serializeSipMessage and
 * makeResponse imported) in a child process with --expose-gc: the transaction tests that look at what a
 * layer keeps alive need a heap of their own.
 */
async function inChildWithGc(body: string, timeout = 30000): Promise<SpawnSyncReturns<string>> {
  const { spawnSync } = await import('node:child_process');
  const url = (path: string): string => new URL(path, import.meta.url).href;
  const script = `import { TransactionLayer } from '${url('../src/sip/transaction.ts')}'; import { SipHeaders, parseSipMessage, serializeSipMessage } from '${url('../src/sip/message.ts')}'; import { makeResponse } from '${url('../src/ims/sip-node.ts')}';\n${body}`;
  return spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout });
}

test('transactions: a completed non-INVITE client transaction keeps neither its request nor its response for Timer K', async () => {
  const r = await inChildWithGc(`    const layer = new TransactionLayer(() => {}, { t1: 10, t4: 60000 });
    const mk = () => new SipHeaders([['Via', 'SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-w'], ['From', '<sip:a@x>;tag=1'], ['To', '<sip:a@x>'], ['Call-ID', 'c'], ['CSeq', '1 OPTIONS']]);
    let req = { type: 'request', method: 'OPTIONS', uri: 'sip:x', headers: mk(), body: new Uint8Array(0) };
    const weak = new WeakRef(req);
    const p = layer.request(req, { route: 'r' });
    req = undefined;
    console.log(layer.receive({ type: 'response', status: 200, reason: 'OK', headers: mk(), body: new Uint8Array(0) }, null).kind);
    await p;
    await new Promise((r) => setTimeout(r, 20));
    globalThis.gc();
    console.log(weak.deref() === undefined ? 'released' : 'kept');
    console.log(layer.receive({ type: 'response', status: 200, reason: 'OK', headers: mk(), body: new Uint8Array(0) }, null).kind);
    layer.close();`);
  assert.equal(r.stdout.trim().split('\n'), ['response', 'released', 'absorbed'], r.stderr.slice(0, 300));
});

test('transactions: a lingering server transaction (Timer J) keeps neither the request text nor its own copy of it', async () => {
  // 200 requests of ~50 KB each (six long header lines), answered with makeResponse and kept by their server
  // transactions for 64*T1: what stays must be the keys and the responses, not the 10 MB of request text
  // (a key or a response value that is a slice of the text would keep all of it).
  const r = await inChildWithGc(`    const layer = new TransactionLayer(() => {}, { t1: 60000 });
    const enc = new TextEncoder();
    globalThis.gc(); const h0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200; i++) {
      const text = 'OPTIONS sip:x@example.org SIP/2.0\\r\\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-' + i + 'abcdefabcdef\\r\\nFrom: <sip:a@example.org>;tag=1\\r\\nTo: <sip:x@example.org>\\r\\nCall-ID: c' + i + '@example.org\\r\\nCSeq: 1 OPTIONS\\r\\n' + ('X-Pad: ' + 'p'.repeat(8000) + '\\r\\n').repeat(6) + '\\r\\n';
      const inc = layer.receive(parseSipMessage(enc.encode(text)), null);
      inc.respond(makeResponse(inc.request, 200, 'OK'));
    }
    globalThis.gc(); globalThis.gc();
    console.log(String(Math.round((process.memoryUsage().heapUsed - h0) / 1024)));
    layer.close();`, 60000);
  assert.ok(/^-?\d+$/.test(r.stdout.trim()), `no figure: ${r.status} ${r.signal} ${JSON.stringify(r.stdout.slice(0, 200))} ${r.stderr.slice(0, 600)}`);
  const kib = Number(r.stdout.trim());
  assert.ok(kib < 3000, `${kib} KiB kept for 200 answered requests of 50 KB (the text would be ~10 000)`);
});

test('transactions: with a resend, a lingering non-INVITE server transaction keeps the bytes of its final response (not the response) and sends them again for a retransmission', async () => {
  // RFC 3261 17.2.2: a retransmitted request in Completed gets the last response again; the bytes sent are
  // all that needs, so the response (its headers and the text they are slices of) need not live for 64*T1.
  const r = await inChildWithGc(`    const sent = []; const resent = [];
    const layer = new TransactionLayer((m) => { const b = serializeSipMessage(m); sent.push(b); return b; }, { t1: 60000 }, () => false, (b) => resent.push(b));
    const text = 'OPTIONS sip:x@example.org SIP/2.0\\r\\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-r1\\r\\nFrom: <sip:a@example.org>;tag=1\\r\\nTo: <sip:x@example.org>\\r\\nCall-ID: c@example.org\\r\\nCSeq: 1 OPTIONS\\r\\n\\r\\n';
    const bytes = new TextEncoder().encode(text);
    const inc = layer.receive(parseSipMessage(bytes), null);
    let res = makeResponse(inc.request, 200, 'OK');
    const weak = new WeakRef(res);
    inc.respond(res);
    res = undefined;
    await new Promise((r) => setTimeout(r, 10));
    globalThis.gc();
    console.log(weak.deref() === undefined ? 'released' : 'kept');
    // The same bytes (a copy of them, kept in the layer's ResponseRing).
    console.log([layer.receive(parseSipMessage(bytes), null).kind, sent.length, resent.length, Buffer.from(resent[0]).equals(Buffer.from(sent[0]))].join(" "));
    layer.close();`);
  assert.equal(r.stdout.trim().split('\n'), ['released', 'absorbed 1 1 true'], r.stderr.slice(0, 600));
});

test('transactions: with a resend, a non-INVITE client transaction keeps the bytes it sent (not the request) and retransmits them (Timer E); its final response settles it', async () => {
  // RFC 3261 17.1.2.2: a retransmission is the same request; the bytes sent are all it needs, so a relayed
  // request's parsed copy need not live until the response comes. Without a resend, or when send returns
  // nothing (a tracer), the request is kept and sent again, as before.
  const r = await inChildWithGc(`    const text = 'OPTIONS sip:x@example.org SIP/2.0\\r\\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-c1\\r\\nFrom: <sip:a@example.org>;tag=1\\r\\nTo: <sip:x@example.org>\\r\\nCall-ID: c@example.org\\r\\nCSeq: 1 OPTIONS\\r\\nMax-Forwards: 70\\r\\n\\r\\n';
    for (const withResend of [true, false]) {
      const sent = []; const resent = []; const out = [];
      const layer = new TransactionLayer((m) => { const b = serializeSipMessage(m); sent.push(b); return b; }, { t1: 20, t2: 40 }, () => false, withResend ? (b) => resent.push(b) : undefined);
      let req = parseSipMessage(new TextEncoder().encode(text));
      const weak = new WeakRef(req);
      const answer = makeResponse(req, 200, 'OK');
      const done = layer.request(req, null);
      req = undefined;
      await new Promise((r) => setTimeout(r, 70)); // Timer E at 20 and 40 (+20) ms
      globalThis.gc();
      out.push(weak.deref() === undefined ? 'released' : 'kept');
      const again = withResend ? resent : sent.slice(1);
      out.push(again.length >= 2, again.every((b) => Buffer.from(b).equals(Buffer.from(sent[0]))));
      layer.receive(answer, null);
      out.push((await done).status);
      console.log(out.join(' '));
      layer.close();
    }`);
  assert.equal(r.stdout.trim().split('\n'), ['released true true 200', 'kept true true 200'], r.stderr.slice(0, 600));
});

test('quoted strings: escapes do not end them (headerParam, addressUri), quoted values are unescaped', () => {
  // RFC 4475 3.1.1.1: `"J Rosenberg \\\""` is one quoted-string; the tag after it is the header's.
  assert.is(headerParam('"J Rosenberg \\\\\\"" <sip:j@x> ;tag = 98asjd8', 'tag'), '98asjd8');
  assert.is(headerParam('"a\\";tag=fake" <sip:j@x>;tag=real', 'tag'), 'real');
  assert.is(headerParam('<sip:x>;p="a\\"b;c"', 'p'), 'a"b;c');
  assert.is(headerParam('<sip:x;tag=inside>', 'tag'), undefined);
  assert.is(addressUri('"Bob <sip:fake@x>" <sip:real@x>;tag=1'), 'sip:real@x');
  assert.equal(lib.parseNameAddr('"Quoted \\"\\"" <sip:a@b>;q=1'), { displayName: 'Quoted ""', uri: 'sip:a@b' });
  assert.equal(lib.parseNameAddr('Bob Smith<sip:a@b>'), { displayName: 'Bob Smith', uri: 'sip:a@b' });
  assert.equal(lib.parseNameAddr('sip:a@b;tag=1'), { displayName: undefined, uri: 'sip:a@b' });
  for (const bad of ['"unterminated <sip:a@b>', 'Bell, Alexander <sip:a@b>', '< sip:a@b >', 'sip:a@b;;tag=1', 'sip:a@b?x=y', '<sip:a@b', '<sip:a@2001:db8::1>']) {
    throwsCode(() => lib.parseNameAddr(bad), 'SIP_PARSE');
  }
});

test('SIP URIs: bracketed IPv6 hosts and ports (RFC 5118), user parts with ; ? @-escapes, headers', () => {
  assert.equal(lib.parseSipUri('sip:[2001:db8::10]:5070;lr'), { scheme: 'sip', user: undefined, host: '[2001:db8::10]', port: 5070, params: ';lr', headers: undefined });
  assert.equal(lib.parseSipUri('SIPS:alice;p=u%40x@[::1]?Route=%3Csip:y%3E'), { scheme: 'sips', user: 'alice;p=u%40x', host: '[::1]', port: undefined, params: '', headers: 'Route=%3Csip:y%3E' });
  assert.equal(lib.parseSipUri('sip:10.0.0.1:5064').port, 5064);
  for (const bad of ['sip:2001:db8::10', 'sip:[2001:db8::10', 'sip:host:99999', 'sip:@host', 'sip:', 'tel:+1', 'sip:[zz::1]', 'sip:host:5060x']) {
    throwsCode(() => lib.parseSipUri(bad), 'SIP_PARSE');
  }
});

const OPTIONS = (lines: string[]): Uint8Array => enc(`${[
  'OPTIONS sip:bob@example.org SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKabc', 'From: <sip:a@example.org>;tag=1', 'To: <sip:bob@example.org>',
  'Call-ID: opt1', 'CSeq: 1 OPTIONS', ...lines,
].join('\r\n')}\r\n\r\n`);

test('refusals carry the status to answer with (400, 501, 505) and the request as framed; responses carry none', () => {
  const refusal = (bytes: Uint8Array): lib.SipParseError => {
    try {
      parseSipMessage(bytes);
    } catch (e) {
      assert.instance(e, lib.SipParseError);
      assert.is((e as lib.SipParseError).code, 'SIP_PARSE');
      return e as lib.SipParseError;
    }
    throw new Error('parsed');
  };
  const cases: Array<[string[], RegExp]> = [
    [['Content-Type: multipart/mixed', 'Content-Length: 0'], /boundary/],
    [['Content-Type: multipart/mixed; charset=x'], /boundary/],
    [['Via: SIP/2.0/UDP 2001:db8::1;branch=z9hG4bKx'], /IPv6/],
    [['Via: SIP/2.0/UDP host;branch=z9hG4bKx;'], /empty parameter/],
    [['Via: SIP/2.0/UDP host;branch=z9hG4bKx,'], /empty Via/],
    [['Via: SIP/2.0/UDP'], /Via/],
    [['Contact: <sip:a@[::1]>;;expires=1'], /empty parameter/],
    [['Contact: <sip:a@b>,,<sip:c@d>'], /empty address/],
    [['From: <sip:b@example.org>;tag=2'], /From repeated/],
    [['Max-Forwards: 70', 'Max-Forwards: 69'], /Max-Forwards repeated/],
  ];
  for (const [extra, why] of cases) {
    const e = refusal(OPTIONS(extra));
    assert.is(e.status, 400, extra.join());
    assert.match(e.message, why);
    assert.is(e.request?.method, 'OPTIONS');
    assert.is(e.request?.headers.get('call-id'), 'opt1');
  }
  // What these rules must still accept.
  for (const ok of [['Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKx;received=[2001:db8::2];rport'], ['Content-Type: multipart/mixed;boundary="a b"'],
    ['Contact: *'], ['Contact: <sip:a@b>;expires=600, "x, y" <sip:c@d>;q=0.5'], ['X-Junk: ;;,,"'], ['Accept: application/sdp,,']]) {
    assert.is(parseSipMessage(OPTIONS(ok)).type, 'request', ok.join());
  }
  const v6 = parseVia('SIP/2.0/UDP [2001:db8::1] : 5062;branch=z9hG4bKx');
  assert.equal([v6.host, v6.port], ['[2001:db8::1]', 5062]);
  assert.is(refusal(enc('OPTIONS sip:b@x SIP/3.0\r\nVia: SIP/3.0/UDP h\r\n\r\n')).status, 505);
  assert.is(refusal(enc('FOO sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 BAR\r\n\r\n')).status, 501);
  const res = refusal(enc('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;;\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n'));
  assert.is(res.request, undefined);
  assert.equal(JSON.parse(JSON.stringify(res)), { name: 'Ipsec3gppError', code: 'SIP_PARSE', message: res.message, position: res.position });
  // A header named like an Object.prototype member is just a header.
  const proto = parseSipMessage(OPTIONS(['constructor: 1', '__proto__: 2']));
  assert.equal([proto.headers.get('constructor'), proto.headers.get('__proto__')], ['1', '2']);
});

function node(o: { supported?: Parameters<SipNode['supported']>[0] } = {}): { n: SipNode; sent: Uint8Array[]; seen: SipRequest[]; feed: (b: Uint8Array) => void } {
  const sent: Uint8Array[] = [];
  const socket: DatagramSocket = { address: '192.0.2.100', port: 5060, send: (d) => sent.push(d), onMessage: () => {}, close: () => {} };
  const n = new SipNode('P-CSCF test');
  if (o.supported) n.supported(o.supported);
  const seen: SipRequest[] = [];
  n.onRequest((i) => seen.push(i.request));
  const route: Route = { kind: 'plain', socket, address: '198.51.100.7', port: 5060 };
  return { n, sent, seen, feed: (b) => n.receive(b, route) };
}

test('SipNode answers what it refuses (400 with a Warning naming the fault, 405, 416, 420), drops malformed responses and ACKs, counts both', () => {
  const t = node({ supported: { methods: ['REGISTER', 'OPTIONS'], require: ['sec-agree'] } });
  t.feed(OPTIONS(['Via: SIP/2.0/UDP 2001:db8::1;branch=z9hG4bKx']));
  assert.is(t.sent.length, 1);
  const r400 = new TextDecoder().decode(t.sent[0]);
  assert.match(r400, /^SIP\/2\.0 400 Bad Request\r\n/);
  assert.match(r400, /\r\nWarning: 399 P-CSCF-test "bad Via header: bad port \(an IPv6 address must be enclosed in \[\.\.\.\], RFC 5118 4\.2\) \(line 7\)"\r\n/);
  assert.match(r400, /\r\nCall-ID: opt1\r\n/);
  assert.match(r400, /\r\nTo: <sip:bob@example\.org>;tag=[0-9a-f]{8}\r\n/);
  assert.is(r400.match(/\r\nVia: /g)?.length, 2, 'both Via values copied');
  assert.equal([t.n.malformed, t.n.refused, t.seen.length], [1, 1, 0]);
  // A malformed response, and a malformed ACK: never answered (RFC 3261 18.1.2, 17.1.1.3), counted.
  t.feed(enc('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;;\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n'));
  t.feed(enc('ACK sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa;;\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 ACK\r\n\r\n'));
  assert.equal([t.sent.length, t.n.malformed, t.n.refused], [1, 3, 1]);
  // Well formed, but not for this element: 405 with Allow, 416, 420 with Unsupported; then a request it takes.
  const status = (b: Uint8Array): string => new TextDecoder().decode(b).split('\r\n').filter((l) => /^(SIP\/2\.0|Allow|Unsupported):? /.test(l)).join(' | ');
  const variant = (lines: string[], from: string | RegExp, to: string): Uint8Array => enc(new TextDecoder().decode(OPTIONS(lines)).replace(from, to));
  t.feed(variant([], /OPTIONS/g, 'SUBSCRIBE'));
  t.feed(variant([], 'OPTIONS sip:bob@example.org', 'OPTIONS im:bob@example.org'));
  t.feed(variant(['Require: sec-agree, 100rel', 'Proxy-Require: whatever'], 'z9hG4bKabc', 'z9hG4bK420'));
  t.feed(variant(['Require: Sec-Agree'], 'z9hG4bKabc', 'z9hG4bKok'));
  assert.equal(t.sent.slice(1).map(status), [
    'SIP/2.0 405 Method Not Allowed | Allow: REGISTER, OPTIONS',
    'SIP/2.0 416 Unsupported URI Scheme',
    'SIP/2.0 420 Bad Extension | Unsupported: 100rel',
  ]);
  assert.equal([t.seen.length, t.n.refused], [1, 4]);
  t.n.close();
});

test('server transactions match on branch, sent-by and method (RFC 3261 17.2.3): another sender reusing a branch is a new request', () => {
  const t = node();
  const from = (host: string): Uint8Array => enc(new TextDecoder().decode(OPTIONS([])).replace('192.0.2.1;', `${host};`));
  t.feed(from('192.0.2.1'));
  t.feed(from('192.0.2.1')); // a retransmission
  t.feed(from('192.0.2.66')); // same branch and method, another sent-by
  t.feed(from('192.0.2.1:5062'));
  assert.equal(t.seen.map((r) => parseVia(r.headers.values('via')[0]!).host + (parseVia(r.headers.values('via')[0]!).port ?? '')), ['192.0.2.1', '192.0.2.66', '192.0.2.15062']);
  t.n.close();
});

test('SipHeaders.first is values()[0]: the first non-empty list element across lines, quotes and <...> respected', () => {
  const pieces = ['SIP/2.0/UDP a;branch=z9hG4bK1', ' ', '', '"x,y" <sip:a,b@h>', 'b', ' , ', '<sip:c>;p="1,2"', 'd'];
  let seed = 12345;
  const rand = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
  for (let round = 0; round < 2000; round++) {
    const h = new lib.SipHeaders();
    for (let l = rand(4); l > 0; l--) {
      const line = Array.from({ length: 1 + rand(3) }, () => pieces[rand(pieces.length)]!).join(rand(2) ? ',' : ', ');
      h.add(rand(2) ? 'Via' : 'v', line);
      if (rand(3) === 0) h.add('Subject', line);
    }
    for (const n of ['via', 'Via', 'subject', 'route']) assert.is(h.first(n), h.values(n)[0], `${n}: ${JSON.stringify([...h])}`);
  }
});

test('proxy: a request the next hop never answers gets a 408 upstream made from what it said (Via lines, From, To with a tag, Call-ID, CSeq), and the request is not kept while the hop is awaited', async () => {
  // RFC 3261 16.8 (Timer F at the proxy's client transaction: 408 upstream), 8.2.6.2 (the response's Via,
  // From, Call-ID, CSeq as in the request; To with a tag). The forward keeps only what the 408 needs.
  const proxy = new URL('../src/ims/proxy.ts', import.meta.url).href;
  const node = new URL('../src/ims/sip-node.ts', import.meta.url).href;
  const r = await inChildWithGc(`    const { PendingInvites, rewrite } = await import('${proxy}');
    const { SipNode } = await import('${node}');
    const sip = new SipNode('P', { timers: { t1: 10 } });
    let sent = 0;
    const socket = { address: '127.0.0.1', port: 5060, send() { sent++; }, onMessage() {}, close() {} };
    const route = { kind: 'plain', socket, address: '127.0.0.9', port: 5070 };
    const text = 'MESSAGE sip:b@example.org SIP/2.0\\r\\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-t1;received=198.51.100.1\\r\\nVia: SIP/2.0/UDP 192.0.2.20;branch=z9hG4bK-t0\\r\\nMax-Forwards: 70\\r\\nFrom: <sip:a@example.org>;tag=f1\\r\\nTo: <sip:b@example.org>\\r\\nCall-ID: c408@example.org\\r\\nCSeq: 7 MESSAGE\\r\\nX-Pad: ' + 'p'.repeat(4000) + '\\r\\nContent-Length: 2\\r\\n\\r\\nhi';
    let req = parseSipMessage(new TextEncoder().encode(text));
    const want = { via: JSON.stringify(req.headers.getAll('via')), from: req.headers.get('from'), to: req.headers.get('to'), callId: req.headers.get('call-id'), cseq: req.headers.get('cseq') };
    const weak = new WeakRef(req);
    const answers = [];
    let settled;
    new PendingInvites().forwardWith(sip, req, rewrite(req), route, '127.0.0.1:5060', (a) => answers.push(a), undefined, (res, err) => { settled = [res, err]; });
    req = undefined;
    await new Promise((r) => setTimeout(r, 30));
    globalThis.gc();
    console.log(weak.deref() === undefined ? 'released' : 'kept');
    await new Promise((r) => setTimeout(r, 900));
    const a = answers[0];
    console.log(JSON.stringify([answers.length, a?.status, a?.reason, JSON.stringify(a?.headers.getAll('via')) === want.via, a?.headers.get('from') === want.from, a?.headers.get('to').startsWith(want.to + ';tag='), a?.headers.get('call-id') === want.callId, a?.headers.get('cseq') === want.cseq, settled?.[0] === undefined, settled?.[1] === undefined, sent > 1]));
    sip.close();`);
  assert.equal(r.stdout.trim().split('\n'), ['released', '[1,408,"Request Timeout",true,true,true,true,true,true,true,true]'], r.stderr.slice(0, 800));
});

test.run();
