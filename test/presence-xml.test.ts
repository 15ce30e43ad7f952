// Presence documents read as XML, by namespace (issue 13 item 2): the `no-location` filter removes every
// element and attribute of the location vocabularies (GEOPRIV and its sub-namespaces, GML and the other OGC
// namespaces, civic addresses, RPID place-type / time-offset, W3C Basic Geo, CIPID map) whatever prefix
// binds them, default namespaces included, wherever they sit, and keeps the rest faithfully; PUBLISH takes
// only bounded, well-formed PIDF (400 / 415 otherwise) and a refusal changes nothing.
//
// Each document is checked against an independent parser and reference filter (@xmldom/xmldom, in
// test/fuzz/pidf-filter.ts): the output has no location element, attribute or declaration and none of the
// input's location values, and keeps the same elements, text and attributes as the reference filter.
// End to end, over real UDP with the P-CSCF and real UEs: alice publishes with the GEOPRIV namespace under
// the prefix "geo:"; carol (integrity only) must not get the location, bob (ESP encryption) gets the document
// byte for byte.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initSync } from '../src/index.js';
import { buildPidf, checkPidf, pidfLocation, pidfStatus, stripLocation } from '../src/ims/index.js';
import { applyAction } from '../src/ims/presence-rules.js';
import { makeRequest, newBranch, SipNode } from '../src/ims/sip-node.js';
import { XML_LIMITS } from '../src/ims/xml.js';
import { NodeUdpNetwork } from '../src/node.js';
import { nextNotify, presenceWorld } from './presence-world.js';
import { domParse, kept, leaks } from './fuzz/pidf-filter.js';

initSync();
const enc = new TextEncoder();

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};

/** The checks every filtered document must pass; returns the output. */
function filtered(doc: string, tokens: string[], keep: string[]): string {
  assert.is(codeOf(() => checkPidf(enc.encode(doc))), undefined, 'PUBLISH would accept it');
  const out = stripLocation(doc);
  const outDom = domParse(out);
  assert.ok(outDom, `the output is well-formed XML:\n${out}`);
  assert.is(codeOf(() => checkPidf(enc.encode(out))), undefined, 'the output is PIDF');
  assert.equal(leaks(outDom), [], 'no location element, attribute, declaration, comment or PI');
  for (const t of tokens) {
    assert.ok(doc.includes(t), `token ${t} is in the input`);
    assert.not.ok(out.includes(t), `token ${t} reached the output:\n${out}`);
  }
  for (const k of keep) assert.ok(out.includes(k), `${k} is kept:\n${out}`);
  const reference = kept(domParse(doc)!);
  assert.equal(kept(outDom, false), reference, 'same elements, text and attributes as the reference filter');
  assert.is(pidfLocation(out), undefined);
  return out;
}

const GEO_PREFIX = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:geo="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:gml="http://www.opengis.net/gml" entity="sip:alice@example.org">
  <tuple id="sg89ae">
    <status>
      <basic>open</basic>
      <geo:geopriv>
        <geo:location-info>
          <gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>51.50721 -0.12758</gml:pos></gml:Point>
        </geo:location-info>
        <geo:usage-rules><geo:retransmission-allowed>no</geo:retransmission-allowed></geo:usage-rules>
      </geo:geopriv>
    </status>
    <note xml:lang="en">Tea &amp; biscuits &lt;3 at &#x201C;the office&#x201D;</note>
  </tuple>
</presence>
`;

test('the GEOPRIV namespace under another prefix (geo:): removed, and the rest written back exactly', () => {
  const out = filtered(GEO_PREFIX, ['51.50721', '-0.12758', 'geopriv10'], ['Tea &amp; biscuits &lt;3']);
  assert.is(out, `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.org">
  <tuple id="sg89ae">
    <status>
      <basic>open</basic>
    </status>
    <note xml:lang="en">Tea &amp; biscuits &lt;3 at \u201Cthe office\u201D</note>
  </tuple>
</presence>
`);
  assert.equal(pidfLocation(GEO_PREFIX), { lat: 51.50721, lon: -0.12758 }, 'pidfLocation reads GML by namespace');
  assert.equal(pidfStatus(out), { basic: 'open', note: 'Tea & biscuits <3 at \u201Cthe office\u201D' });
});

test('GEOPRIV and GML as default namespaces', () => {
  const doc = `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.org">
 <tuple id="t"><status><basic>open</basic>
  <geopriv xmlns="urn:ietf:params:xml:ns:pidf:geopriv10"><location-info><Point xmlns="http://www.opengis.net/gml" srsName="urn:ogc:def:crs:EPSG::4326"><pos>48.85837 2.29448</pos></Point></location-info><usage-rules/></geopriv>
 </status><note>here</note></tuple></presence>`;
  filtered(doc, ['48.85837', '2.29448'], ['<note>here</note>', '<basic>open</basic>']);
  assert.equal(pidfLocation(doc), { lat: 48.85837, lon: 2.29448 });
});

test('RFC 5491 placement: civic address in dm:person, a pidflo circle in dm:device, RPID kept', () => {
  const doc = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
    xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
    xmlns:gml="http://www.opengis.net/gml"
    xmlns:gs="http://www.opengis.net/pidflo/1.0"
    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
    entity="pres:alice@example.org">
  <dm:person id="alice">
    <rpid:activities><rpid:on-the-phone/></rpid:activities>
    <gp:geopriv>
      <gp:location-info>
        <ca:civicAddress xml:lang="en-AU">
          <ca:country>AU</ca:country>
          <ca:A1>NSW</ca:A1>
          <ca:A3>Wollongong</ca:A3>
          <ca:RD>Flinders</ca:RD><ca:STS>Street</ca:STS>
          <ca:PC>2500</ca:PC>
        </ca:civicAddress>
      </gp:location-info>
      <gp:usage-rules/>
      <gp:method>Wiremap</gp:method>
    </gp:geopriv>
    <dm:timestamp>2007-06-22T20:57:29Z</dm:timestamp>
  </dm:person>
  <dm:device id="mobile">
    <gp:geopriv>
      <gp:location-info>
        <gs:Circle srsName="urn:ogc:def:crs:EPSG::4326">
          <gml:pos>-34.407 150.883</gml:pos>
          <gs:radius uom="urn:ogc:def:uom:EPSG::9001">30</gs:radius>
        </gs:Circle>
      </gp:location-info>
      <gp:usage-rules/>
    </gp:geopriv>
    <dm:deviceID>mac:8c8e76b14e02</dm:deviceID>
  </dm:device>
</presence>
`;
  const out = filtered(doc, ['Wollongong', 'Flinders', 'NSW', '2500', '-34.407', '150.883', 'Wiremap', 'en-AU'], ['<rpid:on-the-phone/>', 'mac:8c8e76b14e02', '2007-06-22T20:57:29Z']);
  assert.match(out, /xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"/);
  assert.not.match(out, /xmlns:(gp|ca|gml|gs)=/, 'declarations of location namespaces go');
});

test('location outside a geopriv wrapper, deep in extensions; CDATA, comments, PIs and location attributes', () => {
  const doc = `<?xml version="1.0"?>
<?xml-stylesheet type="text/xsl" href="presence.xsl"?>
<!-- generated by ExamplePA 2.1 at 40.68925,-74.0445 -->
<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" xmlns:x="urn:example:ext" xmlns:loc="urn:ietf:params:xml:ns:pidf:geopriv10" entity="sip:alice@example.org">
  <p:tuple id="t1" loc:hint="40.68925 -74.0445">
    <p:status><p:basic>open</p:basic>
      <x:a><x:b><x:c><x:d><x:e>
        <loc:geopriv><loc:location-info>
          <g:Polygon xmlns:g="http://www.opengis.net/gml" g:id="poly1"><g:exterior><g:LinearRing><g:posList><![CDATA[40.68925 -74.0445 40.68940 -74.0443 40.68911 -74.0441 40.68925 -74.0445]]></g:posList></g:LinearRing></g:exterior></g:Polygon>
          <!-- fix from GPS: 40.68925 -74.0445 -->
        </loc:location-info></loc:geopriv>
      </x:e></x:d></x:c></x:b></x:a>
      <x:mood x:why="tea">   <![CDATA[happy <3 & calm]]></x:mood>
    </p:status>
    <?gps 40.68925 -74.0445?>
    <p:note>at work</p:note>
  </p:tuple>
  <ca:civicAddress xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"><ca:A3>Kxbedloe</ca:A3></ca:civicAddress>
  <gml:Point xmlns:gml="http://www.opengis.net/gml" gml:id="pt"><gml:pos>40.68925 -74.0445</gml:pos></gml:Point>
</p:presence>
`;
  const out = filtered(doc, ['40.68925', '-74.0445', '40.68940', '40.68911', 'Kxbedloe', 'poly1', 'ExamplePA', 'presence.xsl'],
    ['<x:mood x:why="tea">   <![CDATA[happy <3 & calm]]></x:mood>', '<p:note>at work</p:note>', '<x:a><x:b><x:c><x:d><x:e>']);
  assert.match(out, /^<\?xml version="1.0"\?>\n<p:presence /, 'the declaration is kept, the prolog comment and PI are not');
  assert.is(pidfStatus(out).basic, 'open');
});

test('an upper-case GEOPRIV URN, RPID place-type and time-offset, CIPID map, W3C Basic Geo: removed; RPID place-is kept', () => {
  const doc = `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" xmlns:lt="urn:ietf:params:xml:ns:location-type" xmlns:w="http://www.w3.org/2003/01/geo/wgs84_pos#" xmlns:G="URN:IETF:PARAMS:XML:NS:PIDF:GEOPRIV10" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:alice@example.org">
  <tuple id="t1"><status><basic>closed</basic><G:geopriv><G:location-info><w:lat>35.65858</w:lat><w:long>139.74543</w:long></G:location-info></G:geopriv></status></tuple>
  <dm:person id="p1">
    <r:activities><r:meal/></r:activities>
    <r:place-type><lt:restaurant/></r:place-type>
    <r:place-is><r:audio><r:noisy/></r:audio></r:place-is>
    <r:time-offset description="Asia/Tokyo">540</r:time-offset>
    <c:map>https://maps.example/?ll=35.65858,139.74543</c:map>
    <w:Point><w:lat>35.65858</w:lat></w:Point>
    <c:homepage>https://example.org/~alice</c:homepage>
  </dm:person>
</presence>`;
  filtered(doc, ['35.65858', '139.74543', 'Asia/Tokyo', 'restaurant', '540', 'maps.example'],
    ['<r:place-is><r:audio><r:noisy/></r:audio></r:place-is>', '<r:meal/>', '<c:homepage>https://example.org/~alice</c:homepage>']);
});

test('a prefix rebound inside the document: the name that resolves to GEOPRIV goes, the same prefix elsewhere stays', () => {
  const doc = `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:example:games" entity="sip:alice@example.org">
  <tuple id="t1"><status><basic>open</basic><gp:score>9001</gp:score>
    <gp:geopriv xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"><gp:location-info><gp:x>52.37403</gp:x></gp:location-info></gp:geopriv>
  </status></tuple>
  <gml:pos xmlns:gml="urn:example:not-gml">keep me</gml:pos>
</presence>`;
  const out = filtered(doc, ['52.37403'], ['<gp:score>9001</gp:score>', '<gml:pos xmlns:gml="urn:example:not-gml">keep me</gml:pos>']);
  assert.match(out, /xmlns:gp="urn:example:games"/);
  assert.is(pidfLocation(doc), undefined, 'a "gml:pos" outside the GML namespace is not a location for pidfLocation');
});

test('text and attributes round-trip: escapes, CR, TAB and LF by reference, quotes, non-ASCII', () => {
  const doc = `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a&amp;b@example.org"><tuple id='t"1'><status><basic>open</basic></status><note a="x&#9;y&#10;z&#13;" b='&lt;&quot;&apos;>'>line1&#13;
line2 &gt; ]]&gt; ☕ 𝄞</note></tuple></presence>`;
  const out = stripLocation(doc);
  assert.is(out, `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a&amp;b@example.org"><tuple id="t&quot;1"><status><basic>open</basic></status><note a="x&#9;y&#10;z&#13;" b="&lt;&quot;'&gt;">line1&#13;
line2 &gt; ]]&gt; ☕ 𝄞</note></tuple></presence>\n`);
  assert.equal(kept(domParse(out)!, false), kept(domParse(doc)!, false), 'the same infoset');
});

test('PUBLISH bodies refused: not well-formed, DOCTYPE (entity bomb, external DTD), bounds, version, encoding, UTF-8', () => {
  const pres = (inner: string, attrs = ''): string => `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@example.org"${attrs}>${inner}</presence>`;
  const wraps = (n: number): string => `${'<x:w xmlns:x="urn:example:ext">'.repeat(n)}${'</x:w>'.repeat(n)}`;
  const many = (n: number): string => Array.from({ length: n }, (_, i) => ` a${i}="${i}"`).join('');
  const bomb = `<?xml version="1.0"?><!DOCTYPE presence [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>${pres('<tuple id="t"><status><basic>open</basic></status><note>&c;</note></tuple>')}`;
  const cases: Array<[string, string | Uint8Array, string | undefined]> = [
    ['valid', pres('<tuple id="t"><status><basic>open</basic></status></tuple>'), undefined],
    ['unclosed', '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple>', 'XML_MALFORMED'],
    ['not XML', 'open, at 51.5 -0.12', 'XML_MALFORMED'],
    ['empty', '', 'XML_MALFORMED'],
    ['entity bomb', bomb, 'XML_MALFORMED'],
    ['external DTD', `<!DOCTYPE presence SYSTEM "http://attacker.example/x.dtd">${pres('')}`, 'XML_MALFORMED'],
    ['undefined entity', pres('<tuple id="t"><note>&lol;</note></tuple>'), 'XML_MALFORMED'],
    ['unbound prefix', pres('<gp:geopriv/>'), 'XML_MALFORMED'],
    ['undeclared prefix', pres('<x:y xmlns:x=""/>'), 'XML_MALFORMED'],
    ['two roots', `${pres('')}${pres('')}`, 'XML_MALFORMED'],
    ['element local part not an NCName', pres('<x:-y xmlns:x="urn:example:ext"/>'), 'XML_MALFORMED'],
    ['attribute local part not an NCName', pres('<x:y xmlns:x="urn:example:ext" x:.z="1"/>'), 'XML_MALFORMED'],
    ['namespace name with white space', pres('<x:y xmlns:x="&#10;http://www.opengis.net/gml" x:lat="51.5"/>'), 'XML_MALFORMED'],
    [`depth ${XML_LIMITS.depth}`, pres(wraps(XML_LIMITS.depth - 1)), undefined],
    [`depth ${XML_LIMITS.depth + 1}`, pres(wraps(XML_LIMITS.depth)), 'XML_MALFORMED'],
    [`${XML_LIMITS.attributes} attributes`, pres('', many(XML_LIMITS.attributes - 2)), undefined],
    [`${XML_LIMITS.attributes + 1} attributes`, pres('', many(XML_LIMITS.attributes - 1)), 'XML_MALFORMED'],
    [`${XML_LIMITS.elements} elements`, pres('<x:w/>'.repeat(XML_LIMITS.elements - 1), ' xmlns:x="urn:example:ext"'), undefined],
    [`${XML_LIMITS.elements + 1} elements`, pres('<x:w/>'.repeat(XML_LIMITS.elements), ' xmlns:x="urn:example:ext"'), 'XML_MALFORMED'],
    [`${XML_LIMITS.bytes} bytes`, pres(`<!--${'x'.repeat(XML_LIMITS.bytes - pres('<!---->').length)}-->`), undefined],
    [`${XML_LIMITS.bytes + 1} bytes`, pres(`<!--${'x'.repeat(XML_LIMITS.bytes + 1 - pres('<!---->').length)}-->`), 'XML_MALFORMED'],
    ['XML 1.1', `<?xml version="1.1"?>${pres('')}`, 'XML_MALFORMED'],
    ['Latin-1', `<?xml version="1.0" encoding="ISO-8859-1"?>${pres('')}`, 'XML_MALFORMED'],
    ['invalid UTF-8', Uint8Array.from([...enc.encode(pres('<tuple id="t"><note>')), 0xc3, 0x28, ...enc.encode('</note></tuple>')]), 'XML_MALFORMED'],
    ['root not presence', '<tuple xmlns="urn:ietf:params:xml:ns:pidf" id="t"/>', 'PIDF_INVALID'],
    ['presence in no namespace', '<presence entity="sip:a@example.org"/>', 'PIDF_INVALID'],
    ['no entity', '<presence xmlns="urn:ietf:params:xml:ns:pidf"/>', 'PIDF_INVALID'],
    ['geopriv written into the PIDF namespace', pres('<tuple id="t"><status><basic>open</basic><geopriv><location-info><pos>51.5 -0.12</pos></location-info></geopriv></status></tuple>'), 'PIDF_INVALID'],
  ];
  for (const [name, body, want] of cases) {
    const bytes = typeof body === 'string' ? enc.encode(body) : body;
    assert.is(codeOf(() => checkPidf(bytes)), want, name);
    if (typeof body === 'string') assert.is(codeOf(() => stripLocation(body)), want, `${name} (filter)`);
  }
  try {
    checkPidf(enc.encode(bomb));
  } catch (e) {
    assert.match((e as Error).message, /^DOCTYPE not allowed/, 'refused for its DOCTYPE, before any entity is looked at');
  }
});

test('a stored document the filter cannot read fails closed: polite-block, never the document', () => {
  const doc = GEO_PREFIX.replace('</presence>', '');
  assert.is(applyAction('no-location', doc, 'sip:alice@example.org'), buildPidf({ entity: 'sip:alice@example.org', basic: 'closed' }));
  assert.is(applyAction('full', doc, 'sip:alice@example.org'), doc, 'full is the stored text, byte for byte');
});

// ---- End to end over UDP ----

const world = presenceWorld;

test('UDP: a PUBLISH with the GEOPRIV namespace under "geo:" no longer gives carol (integrity only) the location', async () => {
  const w = await world();
  try {
    const doc = GEO_PREFIX.replace('sip:alice@example.org', w.aliceUri);
    const got = Promise.all([nextNotify(w.bob), nextNotify(w.carol)]);
    assert.is((await w.alice.publish(doc)).status, 200);
    const [toBob, toCarol] = await got;
    assert.is(toBob, doc, 'bob (ESP encryption): the document as published, byte for byte');
    assert.is(pidfLocation(toCarol), undefined, 'carol: no location');
    for (const t of ['51.50721', '-0.12758', 'geopriv10', 'opengis']) assert.not.ok(toCarol.includes(t), `carol got ${t}:\n${toCarol}`);
    assert.equal(pidfStatus(toCarol), { basic: 'open', note: 'Tea & biscuits <3 at \u201Cthe office\u201D' }, 'carol gets the rest');
    assert.is(w.n.core.presence.get(w.aliceUri)?.doc, doc, 'the presence server keeps what was published');
  } finally {
    w.n.close();
  }
});

test('UDP: PUBLISH refused (400 not well-formed / DOCTYPE / not PIDF, 415 wrong type) stores nothing and notifies no one', async () => {
  const w = await world();
  const sock = await new NodeUdpNetwork().bind('127.0.0.1', 0);
  const direct = new SipNode('test');
  sock.onMessage((d) => direct.receive(d.data, { kind: 'plain', socket: sock, address: d.address, port: d.port }));
  try {
    const first = buildPidf({ entity: w.aliceUri, basic: 'open', note: 'first', location: { lat: 1.5, lon: 2.5 } });
    let got = Promise.all([nextNotify(w.bob), nextNotify(w.carol)]);
    assert.is((await w.alice.publish(first)).status, 200);
    await got;
    const stored = { ...w.n.core.presence.get(w.aliceUri)! };
    const counts = [w.bob.notifications.length, w.carol.notifications.length];

    const refusals: Array<[string, string, number, RegExp]> = [
      ['not well-formed', `${first.slice(0, 200)}`, 400, /^399 core "XML_MALFORMED: /],
      ['entity bomb', `<?xml version="1.0"?><!DOCTYPE presence [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${w.aliceUri}"><tuple id="t"><status><basic>open</basic></status><note>&b;</note></tuple></presence>`, 400, /DOCTYPE/],
      ['not PIDF', `<presence xmlns="urn:example:not-pidf" entity="${w.aliceUri}"/>`, 400, /^399 core "PIDF_INVALID: /],
    ];
    for (const [name, body, status, warning] of refusals) {
      const r = await w.alice.publish(body);
      assert.is(r.status, status, name);
      assert.match(r.headers.get('warning') ?? '', warning, name);
    }
    // A wrong Content-Type, sent straight to the core (the UE always labels its PIDF), by a socket the
    // core trusts as a P-CSCF and with alice's asserted identity (the core authorises PUBLISH by it).
    w.n.core.trustProxy('127.0.0.1', sock.port);
    const publishAs = (type: string, encoding?: string): Promise<{ status: number; accept: string | undefined }> => direct.request(makeRequest({
      method: 'PUBLISH', uri: w.aliceUri, from: `<${w.aliceUri}>;tag=t${type.length}`, to: `<${w.aliceUri}>`, callId: `c${Math.random()}`, cseq: 1,
      via: `SIP/2.0/UDP 127.0.0.1:${sock.port};branch=${newBranch()}`,
      headers: [['Event', 'presence'], ['P-Asserted-Identity', `<${w.aliceUri}>`], ...(encoding ? [['Content-Encoding', encoding] as [string, string]] : [])],
      body: { type, data: first },
    }), { kind: 'plain', socket: sock, address: '127.0.0.1', port: w.n.core.port }).then((r) => ({ status: r.status, accept: r.headers.get('accept') }));
    assert.equal(await publishAs('text/plain'), { status: 415, accept: 'application/pidf+xml' });
    assert.equal(await publishAs('application/xml'), { status: 415, accept: 'application/pidf+xml' });
    assert.equal(await publishAs('application/pidf+xml;charset=iso-8859-1'), { status: 415, accept: 'application/pidf+xml' });
    assert.equal(await publishAs('application/pidf+xml', 'gzip'), { status: 415, accept: 'application/pidf+xml' });

    assert.equal(w.n.core.presence.get(w.aliceUri), stored, 'the stored document and its entity tag are unchanged');
    // The next valid PUBLISH is the next (and only) NOTIFY each watcher gets.
    const second = buildPidf({ entity: w.aliceUri, basic: 'closed', note: 'second' });
    got = Promise.all([nextNotify(w.bob), nextNotify(w.carol)]);
    assert.equal(await publishAs('Application/PIDF+XML; charset="UTF-8"').then(() => undefined), undefined);
    const [toBob, toCarol] = await got;
    assert.is(pidfStatus(toBob).note, 'first', 'a correctly labelled PUBLISH from the wire is accepted (the same document as before)');
    assert.is(pidfStatus(toCarol).note, 'first');
    got = Promise.all([nextNotify(w.bob), nextNotify(w.carol)]);
    assert.is((await w.alice.publish(second)).status, 200);
    const [bob2, carol2] = await got;
    assert.equal([pidfStatus(bob2).note, pidfStatus(carol2).note], ['second', 'second']);
    assert.equal([w.bob.notifications.length, w.carol.notifications.length], [counts[0]! + 2, counts[1]! + 2], 'no NOTIFY for any refused PUBLISH');
  } finally {
    direct.close();
    sock.close();
    w.n.close();
  }
});

test.run();
