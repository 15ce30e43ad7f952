#!/usr/bin/env node
// Generates the API reference in docs/api/ (Markdown, typedoc-plugin-markdown) from the TSDoc of the
// shipped declarations of the four entry points (dist/index.d.ts, dist/ims/index.d.ts, dist/node.d.ts,
// dist/wire/index.d.ts; run scripts/build.mjs first, as `npm run docs` does), so it documents exactly
// what a user gets: `@internal` members are stripped from dist by tsconfig.json's stripInternal.
// Every TypeDoc warning is an error (treatWarningsAsErrors).
//   --check  generate into a temporary directory and fail if docs/api/ differs (stale or hand-edited).
// TypeDoc needs the TypeScript compiler's JS API, which TypeScript 7 (the project's compiler) has not:
// scripts/typescript5-hook.mjs makes TypeDoc's `typescript` resolve to the typescript5 devDependency.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { install } from './typescript5-hook.mjs';

install();
const { Application, LogLevel } = await import('typedoc');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const target = join(root, 'docs', 'api');
// wire before node: node re-exports wire (export *), and the first entry point to hold a symbol documents it
const entryPoints = ['dist/index.d.ts', 'dist/ims/index.d.ts', 'dist/wire/index.d.ts', 'dist/node.d.ts'];
for (const e of entryPoints) {
  if (!existsSync(join(root, e))) {
    console.error(`[docs] ${e} is missing: build first (node scripts/build.mjs)`);
    process.exit(1);
  }
}
const out = check ? mkdtempSync(join(tmpdir(), 'ipsec-3gpp-docs-')) : target;

const app = await Application.bootstrapWithPlugins({
  entryPoints: entryPoints.map((e) => join(root, e)),
  entryPointStrategy: 'resolve',
  tsconfig: join(root, 'tsconfig.docs.json'),
  plugin: ['typedoc-plugin-markdown'],
  out,
  cleanOutputDir: true,
  readme: 'none',
  name: 'ipsec-3gpp',
  disableSources: true,
  outputFileStrategy: 'modules',
  disableGit: true,
  excludeInternal: true,
  excludePrivate: true,
  // Types the public API refers to but no entry point exports (so a user cannot name them; to be exported
  // later). Listed so that TypeDoc's notExported check still fails on any new one. src/ path suffixes.
  intentionallyNotExported: [
    'src/sip/message.ts:REASONS', 'src/ims/presence-rules.ts:PresenceRule', 'src/ims/presence-rules.ts:PresenceAction',
    'src/ims/core.ts:Registration', 'src/ims/core.ts:Subscription', 'src/ims/scenario.ts:SessionOutcome',
    'src/secagree/sadb.ts:Listener', 'src/sip/transaction.ts:ClientTxOptions', 'src/ims/reg-event.ts:RegEventHost',
    'src/ims/reg-event.ts:RegContact', 'src/ims/sip-streams.ts:RouteFor', 'src/ims/confidentiality.ts:Confidentiality',
  ],
  treatWarningsAsErrors: true,
  logLevel: LogLevel.Warn,
  skipErrorChecking: false,
});
const project = await app.convert();
if (project) app.validate(project); // broken {@link}s, exports referenced but not exported (the CLI does this too)
if (!project || app.logger.hasErrors() || app.logger.hasWarnings()) {
  console.error('[docs] TypeDoc reported errors or warnings (treated as errors)');
  process.exit(1);
}
await app.generateOutputs(project);
if (app.logger.hasErrors() || app.logger.hasWarnings()) {
  console.error('[docs] TypeDoc reported errors or warnings while rendering (treated as errors)');
  process.exit(1);
}

if (!check) {
  console.log(`[docs] wrote ${relative(root, target)}/ (${list(target).length} files)`);
} else {
  const want = list(out);
  const have = existsSync(target) ? list(target) : [];
  const problems = [];
  for (const f of want) {
    if (!have.includes(f)) problems.push(`missing: docs/api/${f}`);
    else if (readFileSync(join(out, f), 'utf8') !== readFileSync(join(target, f), 'utf8')) problems.push(`stale: docs/api/${f}`);
  }
  for (const f of have) if (!want.includes(f)) problems.push(`extra: docs/api/${f}`);
  rmSync(out, { recursive: true, force: true });
  if (problems.length) {
    console.error(`[docs] docs/api/ is out of date (run npm run docs):\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`[docs] docs/api/ is up to date (${want.length} files)`);
}

function list(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? list(join(dir, d.name), base) : [relative(base, join(dir, d.name))]).sort();
}
