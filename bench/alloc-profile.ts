// What a process allocates, by function (issue 17): V8's sampling heap profiler (HeapProfiler.startSampling
// over node:inspector) with the objects the GC collected included, so that the profile counts allocation
// (what each scavenge has to deal with), not what is live at the end. bench/pcscf-heap.ts (every role in
// one thread), bench/pcscf.ts --alloc-prof (the P-CSCF process) and bench/profile-summary.ts use it.

import { Session } from 'node:inspector/promises';

/** A node of a sampling heap profile: bytes allocated at this call tree position. */
export interface AllocNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: AllocNode[] }
/** A sampling heap profile (what HeapProfiler.stopSampling returns, as written to a .heapprofile file). */
export interface AllocProfile { head: AllocNode; samples: Array<{ size: number }> }

/**
 * Starts sampling every `interval` bytes; the returned function stops and gives the profile. With
 * `survivors`, objects a scavenge collected are left out (what survived the young generation, or was
 * still young at a major GC or at the end: an upper bound of what each scavenge copies, by where it was
 * allocated).
 */
export async function startAllocSampling(interval: number, survivors = false): Promise<() => Promise<AllocProfile>> {
  const s = new Session();
  s.connect();
  await s.post('HeapProfiler.startSampling', { samplingInterval: interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !survivors } as never);
  return async () => {
    const { profile } = await s.post('HeapProfiler.stopSampling') as unknown as { profile: AllocProfile };
    s.disconnect();
    return profile;
  };
}

/**
 * Bytes allocated per function (`name (dir/file):line`; a built-in, which has no URL, is named with its
 * caller, `subarray ... <- caller`) and per source file, and in all.
 */
export function allocations(profile: AllocProfile): { byFunction: Map<string, number>; byFile: Map<string, number>; total: number } {
  const name = (cf: AllocNode['callFrame']): string => `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  const walk = (node: AllocNode, parent?: AllocNode): void => {
    const k = node.callFrame.url === '' && parent ? `${name(node.callFrame)} <- ${name(parent.callFrame)}` : name(node.callFrame);
    byFunction.set(k, (byFunction.get(k) ?? 0) + node.selfSize);
    const f = node.callFrame.url || '(native)';
    byFile.set(f, (byFile.get(f) ?? 0) + node.selfSize);
    total += node.selfSize;
    for (const c of node.children) walk(c, node);
  };
  walk(profile.head);
  return { byFunction, byFile, total };
}
