#!/usr/bin/env node
// Builds the optional native wire addon (native/wire.c -> native/build/Release/ipsec3gpp_wire.node): TUN
// devices, raw IP-protocol-50 sockets and rtnetlink rules for the transport-mode wire on Linux. Only when
// the sources are newer than the addon. With node-gyp (npm's own copy, or $npm_config_node_gyp) against the
// local Node headers when they exist (no download), else directly with cc.
//   --optional   never fail (npm install): print one line saying why the addon was skipped, exit 0.
//   --force      rebuild even when up to date.
// Without the addon everything works except TransportWire, which then throws WIRE_UNAVAILABLE.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const optional = args.has('--optional');
const native = join(root, 'native');
const out = join(native, 'build', 'Release', 'ipsec3gpp_wire.node');
const sources = [join(native, 'wire.c'), join(native, 'binding.gyp')];

function done(ok, msg) {
  if (msg) console.log(`[build-native] ${msg}`);
  process.exit(ok || optional ? 0 : 1);
}

if (process.platform !== 'linux') done(true, `skipped: the raw wire is Linux-only (${process.platform})`);
if (!sources.every((s) => existsSync(s))) done(false, 'skipped: native/ sources missing');
if (!args.has('--force') && existsSync(out) && sources.every((s) => statSync(s).mtimeMs <= statSync(out).mtimeMs)) done(true, '');

// Node headers shipped with this Node (official tarballs and distribution packages put them in <prefix>/include/node).
const prefix = join(dirname(process.execPath), '..');
const nodedir = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;

const gypCandidates = [
  process.env.npm_config_node_gyp,
  join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter(Boolean);
const gyp = gypCandidates.find((p) => existsSync(p));

let why = '';
if (gyp) {
  const argv = [gyp, 'rebuild', '--directory', native, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const r = spawnSync(process.execPath, argv, { cwd: root, stdio: optional ? 'pipe' : 'inherit', timeout: 300_000, encoding: 'utf8' });
  if (r.status === 0 && existsSync(out)) done(true, `built ${out.slice(root.length + 1)} with node-gyp`);
  why = `node-gyp failed${r.stderr ? `: ${r.stderr.trim().split('\n').slice(-1)[0]}` : ''}`;
}
if (nodedir) {
  mkdirSync(dirname(out), { recursive: true });
  const cc = process.env.CC || 'cc';
  const r = spawnSync(cc, ['-shared', '-fPIC', '-O2', '-std=gnu11', '-Wall', '-DNODE_GYP_MODULE_NAME=ipsec3gpp_wire', `-I${join(nodedir, 'include', 'node')}`, join(native, 'wire.c'), '-o', out], { stdio: optional ? 'pipe' : 'inherit', encoding: 'utf8' });
  if (r.status === 0) done(true, `built ${out.slice(root.length + 1)} with ${cc}`);
  why = `${why ? `${why}; ` : ''}${cc} failed${r.error ? ` (${r.error.code})` : ''}`;
} else {
  why = `${why ? `${why}; ` : ''}no Node headers next to ${process.execPath}`;
}
done(false, `skipped the optional native wire addon (${why}); TransportWire will report WIRE_UNAVAILABLE`);
