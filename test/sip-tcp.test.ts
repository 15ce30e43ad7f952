// SIP over TCP (RFC 3261 18): the stream framer (18.3: Content-Length framing, bounded, CRLF keep-alives of
// RFC 5626 3.5.1), differential on random cuts of real messages; the unprotected phase over TCP between the
// UE and the P-CSCF (18.1.1: a request over 1300 octets goes over TCP; the answer comes back on the
// connection, 18.2.2; nothing is retransmitted on a reliable transport, 17.1.2.2); fallback to UDP when the
// P-CSCF has no TCP; hostile connections closed without changing any state.

import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, initSync } from '../src/index.js';
import { startNetwork } from '../src/ims/scenario.js';
import { NodeTcpNetwork, NodeUdpNetwork } from '../src/node.js';
import { SipStreamFramer } from '../src/sip/stream-framer.js';
import { parseSipMessage } from '../src/sip/message.js';

initSync();
const FAST = { t1: 50, t2: 400, t4: 500 };
const enc = new TextEncoder();

const msg = (body: string, extra = ''): string => `MESSAGE sip:bob@example.org SIP/2.0\r\nVia: SIP/2.0/TCP a.example.org;branch=z9hG4bK${Math.random().toString(16).slice(2)}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.org>;tag=1\r\nTo: <sip:bob@example.org>\r\nCall-ID: c@a\r\nCSeq: 1 MESSAGE\r\n${extra}Content-Length: ${enc.encode(body).length}\r\n\r\n${body}`;

test('framer: messages cut anywhere come out whole and in order; CRLFCRLF between them is a ping', () => {
  let seed = 7;
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
  for (let round = 0; round < 200; round++) {
    const parts = Array.from({ length: 1 + rand(5) }, (_, i) => msg('x'.repeat(rand(3000)) + `#${i}`));
    const pings = parts.map(() => rand(3));
    const stream = enc.encode(parts.map((p, i) => '\r\n\r\n'.repeat(pings[i]!) + p).join(''));
    const f = new SipStreamFramer();
    const out: string[] = [];
    let pinged = 0;
    for (let at = 0; at < stream.length;) {
      const n = 1 + rand(700);
      for (const o of f.push(stream.subarray(at, at + n))) {
        if (o.kind === 'ping') pinged++;
        else out.push(new TextDecoder().decode(o.bytes));
      }
      at += n;
    }
    assert.equal(out, parts, `round ${round}`);
    assert.is(pinged, pings.reduce((a, b) => a + b, 0));
    assert.is(f.pending, 0);
    for (const o of out) assert.is(parseSipMessage(enc.encode(o)).type, 'request');
  }
});

test('framer: bounds and bad Content-Length are refused with SIP_STREAM, and everything after too', () => {
  const code = (fn: () => unknown): string | undefined => { try { fn(); return undefined; } catch (e) { return (e as { code?: string }).code; } };
  const big = new SipStreamFramer({ maxHeader: 1024 });
  assert.is(code(() => big.push(enc.encode(`INVITE sip:x SIP/2.0\r\nSubject: ${'a'.repeat(2000)}`))), ErrorCode.SIP_STREAM, 'no CRLFCRLF within the header bound');
  assert.is(code(() => big.push(enc.encode(msg('ok')))), ErrorCode.SIP_STREAM, 'the stream cannot be resynchronised');
  assert.is(code(() => new SipStreamFramer({ maxBody: 100 }).push(enc.encode(msg('y'.repeat(101))))), ErrorCode.SIP_STREAM);
  assert.is(code(() => new SipStreamFramer().push(enc.encode('OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n'))), ErrorCode.SIP_STREAM, 'Content-Length is mandatory on streams');
  assert.is(code(() => new SipStreamFramer().push(enc.encode(msg('z', 'Content-Length: 5\r\n')))), ErrorCode.SIP_STREAM, 'two different values');
  assert.is(code(() => new SipStreamFramer().push(enc.encode(msg('z').replace('Content-Length: 1', 'Content-Length: -1')))), ErrorCode.SIP_STREAM);
  // The compact form (RFC 3261 20.14) frames too.
  const f = new SipStreamFramer();
  const out = f.push(enc.encode(msg('abc').replace('Content-Length: 3', 'l: 3') + msg('de')));
  assert.equal(out.map((o) => o.kind), ['message', 'message']);
});

test('the unprotected REGISTER (over 1300 octets) goes over TCP, the 401 comes back on the connection, then the SAs', async () => {
  const net = new NodeUdpNetwork();
  const n = await startNetwork({ net, tcp: new NodeTcpNetwork(), timers: FAST, autoRefresh: false });
  try {
    // Every UDP datagram to the P-CSCF's unprotected port is lost: only TCP can carry SM1.
    let lostUdp = 0;
    net.drop = (w) => { if (w.dstPort === n.pcscf.port) { lostUdp++; return true; } return false; };
    const ue = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    const r = await ue.register();
    assert.is(r.status, 200, r.detail);
    assert.is(lostUdp, 0, 'nothing went to the unprotected port over UDP');
    const sm1 = n.trace.find((e) => e.from === 'UE alice' && e.message.type === 'request' && e.message.method === 'REGISTER')!;
    assert.is(sm1.transport, 'TCP');
    assert.ok(sm1.bytes > 1300, `SM1 is ${sm1.bytes} octets`);
    assert.match(sm1.message.headers.get('via')!, /^SIP\/2\.0\/TCP /);
    const r401 = n.trace.find((e) => e.from === 'P-CSCF' && e.message.type === 'response' && e.message.status === 401 && e.transport === 'TCP');
    assert.ok(r401, 'the 401 went back over the connection');
    const sm7 = n.trace.filter((e) => e.from === 'UE alice' && e.message.type === 'request' && e.message.method === 'REGISTER')[1]!;
    assert.ok(sm7.sa, 'SM7 over the SAs');
    assert.is(ue.node.tx.retransmissions, 0, 'nothing retransmitted over TCP');
    assert.is(n.pcscf.node.streams!.connections, 1);
  } finally {
    n.close();
  }
});

test('a P-CSCF without TCP: the UE falls back to UDP (RFC 3261 18.1.1) and registers', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork(), timers: FAST, autoRefresh: false });
  try {
    const ue = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
    // The UE has TCP; the P-CSCF does not listen (startNetwork without tcp for it).
    const { UeClient } = await import('../src/ims/ue-client.js');
    const { demoKeys } = await import('../src/ims/scenario.js');
    ue.close();
    const bob = await UeClient.start({
      net: new NodeUdpNetwork(), address: '127.0.0.1', impi: `alice@${n.realm}`, impu: `sip:alice@${n.realm}`, realm: n.realm, ...demoKeys(),
      pcscf: { address: '127.0.0.1', port: n.pcscf.port, encapPort: n.pcscf.encapPort! }, timers: FAST, autoRefresh: false, tcp: { net: new NodeTcpNetwork() },
    });
    try {
      const r = await bob.register();
      assert.is(r.status, 200, r.detail);
    } finally {
      bob.close();
    }
  } finally {
    n.close();
  }
});

test('hostile connections: an endless header, a huge Content-Length; closed, nothing changes; a ping gets a pong', async () => {
  const n = await startNetwork({ net: new NodeUdpNetwork(), tcp: new NodeTcpNetwork(), timers: FAST, autoRefresh: false });
  try {
    const s = n.pcscf.node.streams!;
    const talk = (data: string, wait = 300): Promise<{ closed: boolean; got: string }> => new Promise((resolve) => {
      const c = connect({ host: '127.0.0.1', port: n.pcscf.port });
      let got = '';
      let closed = false;
      c.on('data', (d) => { got += d.toString('latin1'); });
      c.on('close', () => { closed = true; });
      c.on('error', () => {});
      c.on('connect', () => c.write(data));
      setTimeout(() => { c.destroy(); resolve({ closed, got }); }, wait);
    });
    const before = { attempts: n.pcscf.sec.attemptCount, sets: n.pcscf.db.size };
    const a = await talk(`REGISTER sip:x SIP/2.0\r\nSubject: ${'a'.repeat(20_000)}`);
    assert.ok(a.closed, 'closed past the header bound');
    const b = await talk('REGISTER sip:x SIP/2.0\r\nContent-Length: 1000000\r\n\r\n');
    assert.ok(b.closed, 'closed for a body over the bound');
    assert.is(s.framingErrors, 2);
    const p = await talk('\r\n\r\n');
    assert.is(p.got, '\r\n', 'pong (RFC 5626 3.5.1)');
    assert.not.ok(p.closed);
    assert.equal({ attempts: n.pcscf.sec.attemptCount, sets: n.pcscf.db.size }, before);
  } finally {
    n.close();
  }
});

test.run();
