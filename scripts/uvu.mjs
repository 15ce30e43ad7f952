#!/usr/bin/env node
// Runs uvu (through tsx) with its arguments, colour only on a terminal: uvu forces colour by default
// (FORCE_COLOR=1), which fills logs and CI output with escape codes.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'uvu', 'bin.js');
const args = [...process.argv.slice(2), ...(process.stdout.isTTY ? [] : ['--no-color'])];
const r = spawnSync(process.execPath, ['--import', 'tsx', bin, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
