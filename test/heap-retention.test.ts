// What the P-CSCF keeps for a registration must not keep received message text alive (issue 17, the
// registration cycle's heap): an SA set, its attempt and the P-CSCF's maps live as long as the
// registration and 64*T1 past its end (RFC 3261 Timer J), and a string sliced from a REGISTER would keep
// that REGISTER's whole text (some 900 bytes, its Authorization included) with them. A child process
// (test/heap-retention-probe.ts) snapshots a live network after registration and in the grace time after
// de-registration: no SaSet's or RegistrationAttempt's `key` may be a slice of a message (V8's
// SlicedString, which points at the string it was cut from), nor any public user identity the P-CSCF keeps
// for a registration (read from the core's 200: a slice would keep that 200). A control shows the search can tell: a key
// sliced from a long string on purpose is found as a slice of it. And no attempt is alive in the grace
// time: each ended with its REGISTER's final answer.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

/** A slice of a SIP message's text (its start line: a request's method and URI, or a status line). */
const SLICE_OF_MESSAGE = /^sliced string of "(?:[A-Z]+ [a-z]+:|SIP\/2\.0 )/;

test('no SA set or registration attempt keeps a REGISTER\'s text through its key, nor a registered identity the 200\'s: registered, and in the grace time after de-registration (where no attempt is left)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'heap-retention-'));
  try {
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(dirname(fileURLToPath(import.meta.url)), 'heap-retention-probe.ts'), dir], { encoding: 'utf8', timeout: 120_000 });
    assert.is(run.status, 0, `probe failed: ${run.stderr}`);
    const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as { statuses: number[]; closingSets: number; control: string } & Record<'registered' | 'closing', Record<string, string[]>>;
    assert.equal(r.statuses, [200, 200, 200, 200], 'registered and de-registered');
    assert.ok(r.closingSets >= 2, `the P-CSCF still holds the closing sets (${r.closingSets})`);
    for (const when of ['registered', 'closing'] as const) {
      const found = r[when];
      assert.equal(found['Control'], ['sliced string of "REGISTER sip:ims.example"'], `${when}: the control key is found as a slice of its message`);
      assert.ok((found['SaSet'] ?? []).length >= 4, `${when}: ${(found['SaSet'] ?? []).length} SA sets found (both sides of two UEs)`);
      if (when === 'registered') assert.ok((found['RegisteredIdentities'] ?? []).length >= 2, `registered: ${(found['RegisteredIdentities'] ?? []).length} identities found`);
      for (const [cls, list] of Object.entries(found)) {
        if (cls === 'Control') continue;
        assert.equal(list.filter((d) => SLICE_OF_MESSAGE.test(d)), [], `${when}: ${cls === 'RegisteredIdentities' ? 'an identity' : `${cls}.key`}`);
      }
    }
    // An attempt ends with its REGISTER's final answer: none lives on in the grace time (the de-REGISTERs'
    // offers, parsed, were kept there for 64*T1 by the timer that deletes the sets).
    assert.equal(r.closing['RegistrationAttempt'] ?? [], [], 'no registration attempt kept in the grace time');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
