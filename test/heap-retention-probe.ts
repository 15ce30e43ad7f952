// Child process of test/heap-retention.test.ts (run with `node --import tsx`, so that its heap is the
// network's alone and small enough to snapshot): a registration of two UEs over the in-memory network,
// a V8 heap snapshot, their de-registration, and another snapshot in the grace time (the P-CSCF keeps the
// closing sets 64*T1). For each: what the `key` of every SaSet and RegistrationAttempt (and of a control
// object whose key is sliced from a long string on purpose) is, and every URI the P-CSCF's
// RegisteredIdentities keep, as V8 types (a slice named with the start of the string it was cut from).
// Output: one JSON line.

import { writeHeapSnapshot } from 'node:v8';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { initSync } from '../src/index.js';
import { startNetwork } from '../src/ims/scenario.js';
import { MemoryNetwork } from '../src/ims/index.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/**
 * For every object named one of `classes`: the V8 type of what its `property` edge points at (with
 * `elements`, of each value in the array it points at).
 */
function propertyTypes(file: string, classes: Set<string>, property: string, elements = false): Map<string, string[]> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { node_fields: nf, node_types: [types], edge_fields: ef, edge_types: [etypes] } = s.snapshot.meta;
  const N = nf.length;
  const E = ef.length;
  const ti = nf.indexOf('type');
  const ni = nf.indexOf('name');
  const eci = nf.indexOf('edge_count');
  const eti = ef.indexOf('type');
  const eni = ef.indexOf('name_or_index');
  const eto = ef.indexOf('to_node');
  // Where each node's edges start (they are stored in node order).
  const firstEdge = new Map<number, number>();
  for (let i = 0, e = 0; i < s.nodes.length; i += N) {
    firstEdge.set(i, e);
    e += s.nodes[i + eci]! * E;
  }
  /** A string node's V8 type, and for a slice the start of the string it is a slice of. */
  const describe = (node: number): string => {
    const type = types[s.nodes[node + ti]!]!;
    if (type !== 'sliced string') return type;
    const e0 = firstEdge.get(node)!;
    for (let k = 0; k < s.nodes[node + eci]!; k++) {
      const e = e0 + k * E;
      if (s.strings[s.edges[e + eni]!] === 'parent') return `sliced string of ${JSON.stringify(s.strings[s.nodes[s.edges[e + eto]! + ni]!]!.slice(0, 24))}`;
    }
    return type;
  };
  /** The nodes `node`'s edges of type `type` (named `name`, when given) point at. */
  const targets = (node: number, type: string, name?: string): number[] => {
    const e0 = firstEdge.get(node)!;
    const to: number[] = [];
    for (let k = 0; k < s.nodes[node + eci]!; k++) {
      const e = e0 + k * E;
      if (etypes[s.edges[e + eti]!] === type && (name === undefined || s.strings[s.edges[e + eni]!] === name)) to.push(s.edges[e + eto]!);
    }
    return to;
  };
  const out = new Map<string, string[]>();
  for (let i = 0; i < s.nodes.length; i += N) {
    const name = s.strings[s.nodes[i + ni]!]!;
    if (types[s.nodes[i + ti]!] !== 'object' || !classes.has(name)) continue;
    for (const to of targets(i, 'property', property)) {
      const list = out.get(name) ?? [];
      if (elements) {
        // An array's values: its element edges.
        for (const v of targets(to, 'element')) list.push(describe(v));
      } else list.push(describe(to));
      out.set(name, list);
    }
  }
  return out;
}

class Control {
  constructor(readonly key: string) {}
}

initSync();
const dir = process.argv[2]!;
const n = await startNetwork({ net: new MemoryNetwork(), policy: { defaultMode: 'ipsec' }, record: 0 });
const ues = [await n.ue({ user: 'alice', release: 'later', accessNetwork: 'lte' }), await n.ue({ user: 'bob', release: 'later', accessNetwork: 'lte' })];
const statuses: number[] = [];
for (const ue of ues) statuses.push((await ue.register()).status);
// The control: a key sliced from a long string, as a parsed header's value is.
const text = `REGISTER sip:ims.example SIP/2.0\r\nAuthorization: Digest username="carol@ims.example"${' '.repeat(400)}`;
const control = new Control(text.slice(text.indexOf('carol'), text.indexOf('"', text.indexOf('carol'))));
const look = (when: string): Record<string, string[]> => {
  const file = writeHeapSnapshot(join(dir, `${when}.heapsnapshot`));
  const found = propertyTypes(file, new Set(['SaSet', 'RegistrationAttempt', 'Control']), 'key');
  // The public user identities the P-CSCF learnt from each 200 (P-Associated-URI), kept for the registration.
  for (const [cls, list] of propertyTypes(file, new Set(['RegisteredIdentities']), '#uris', true)) found.set(cls, list);
  rmSync(file);
  return Object.fromEntries(found);
};
const registered = look('registered');
for (const ue of ues) statuses.push((await ue.deregister()).status);
const closingSets = n.pcscf.db.size;
const closing = look('closing');
n.close();
console.log(JSON.stringify({ statuses, closingSets, registered, closing, control: control.key }));
