// The message channel between bench/pcscf.ts's processes (node:child_process IPC): typed messages `{ t, ... }`,
// `next(t)` waits for the next one of type t, keeping the others in arrival order. Shared by bench/pcscf.ts
// and bench/pcscf-instructions.ts.

import type { ChildProcess } from 'node:child_process';

export type Msg = Record<string, unknown> & { t: string };

export function ipc(p: NodeJS.Process | ChildProcess): { send: (m: Msg) => void; next: (t: string) => Promise<Msg> } {
  const inbox: Msg[] = [];
  const waiters: Array<{ t: string; r: (m: Msg) => void }> = [];
  p.on('message', (m: Msg) => {
    const i = waiters.findIndex((w) => w.t === m.t);
    if (i >= 0) waiters.splice(i, 1)[0]!.r(m);
    else inbox.push(m);
  });
  return {
    send: (m) => { (p as ChildProcess).send?.(m); },
    next: (t) => {
      const i = inbox.findIndex((m) => m.t === t);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]!);
      return new Promise((r) => waiters.push({ t, r }));
    },
  };
}
