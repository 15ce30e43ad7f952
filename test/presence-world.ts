// The presence test world shared by the privacy tests: alice (presentity, Release 6), bob (Release 6: ESP
// encryption) and carol (Release 5: integrity only), all on Wi-Fi, registered over real UDP, with bob and
// carol subscribed to alice.

import * as assert from 'uvu/assert';
import { startNetwork, type ImsNetwork, type UeClient } from '../src/ims/index.js';
import { NodeUdpNetwork } from '../src/node.js';

export const PRESENCE_POLICY = { defaultMode: 'ipsec' as const, accessNetworks: { '3GPP-E-UTRAN-FDD': 'access-network' as const } };
export const WLAN = 'IEEE-802.11';

export interface PresenceWorld { n: ImsNetwork; alice: UeClient; bob: UeClient; carol: UeClient; aliceUri: string }

export async function presenceWorld(carolFaults?: Parameters<ImsNetwork['ue']>[0]['faults']): Promise<PresenceWorld> {
  const n = await startNetwork({ net: new NodeUdpNetwork(), policy: PRESENCE_POLICY });
  const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: WLAN });
  const bob = await n.ue({ user: 'bob', release: 6, accessNetwork: WLAN });
  const carol = await n.ue({ user: 'carol', release: 5, accessNetwork: WLAN, ...(carolFaults ? { faults: carolFaults } : {}) });
  for (const u of [alice, bob, carol]) assert.is((await u.register()).status, 200);
  assert.is(bob.current!.ealg, 'aes-cbc');
  assert.is(carol.current!.ealg, 'null');
  const aliceUri = `sip:alice@${n.realm}`;
  for (const w of [bob, carol]) {
    const first = nextNotify(w);
    assert.is((await w.subscribe(aliceUri)).status, 200);
    await first;
  }
  return { n, alice, bob, carol, aliceUri };
}

/** The body of the next NOTIFY `ue` receives. */
export function nextNotify(ue: UeClient): Promise<string> {
  return new Promise((resolve) => { ue.onNotify = (x) => resolve(x.body); });
}
