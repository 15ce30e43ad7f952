// Public API of `ipsec-3gpp/ims`: the IMS roles built on the library (TS 33.203 clause 6-7 with TS 24.229
// procedures): a UE, a P-CSCF, a core (S-CSCF, HSS and presence server) and the datagram networks they run
// on. Browser-safe: nothing here imports a Node built-in (Node's UDP network is `ipsec-3gpp/node`).

/**
 * The IMS roles (TS 33.203 clauses 6-7 with the TS 24.229 procedures): a UE, a P-CSCF, a small core (S-CSCF,
 * HSS, presence server) and the datagram networks they run on; the security agreement and SA database they
 * use are in `ipsec-3gpp`. Browser-safe; call `init()` from `ipsec-3gpp` first.
 *
 * @packageDocumentation
 * @module ipsec-3gpp/ims
 */

export {
  UeClient, refreshDelaySeconds, UE_NOTIFICATIONS_KEPT, UE_ALLOW,
  type UeClientOptions, type UeFaults, type UeEvents, type RegistrationResult, type InviteAnswer, type ReceivedMessage,
} from './ue-client.js';
export { Call, type CallState, type CallEnd } from './call.js';
export { uacDialog, uasDialog, inDialogRequest, type Dialog } from './dialog.js';
export { PendingInvites } from './proxy.js';
export { PcscfProxy, DEFAULT_REGISTER_RATE, DEFAULT_REGISTER_RATE_PER_IMPI, type PcscfProxyOptions, type PcscfEvents, type PcscfStoreOptions, type PcscfRestored } from './pcscf-proxy.js';
export { MemoryStore, checkOps, type StateStore, type StoreOp } from '../store/store.js';
export { RecordSealer } from '../store/sealed.js';
export { StoreWriter, type StoreBinding } from '../store/writer.js';
export { SaStore, type SaStoreOptions, type SaRestoreReport, type StoredSet } from '../store/sa-store.js';
export { StoredMap } from '../store/stored-map.js';
export { RegisteredIdentities, identityKey, addressList } from './identity.js';
export { RateLimiter, type RateLimit } from './rate-limit.js';
export { ImsCore, PROXIED_METHODS, type CoreOptions, type CoreEvents } from './core.js';
export { ProtectedPort, type ProtectedPortStats } from './protected-port.js';
export { udpEncapWire, type RoleWire, type RoleWireContext, type AttachedWire, type UdpEncapWireOptions, type WireMode } from './role-wire.js';
export { SipNode, type TraceEvent, type Tracer, type Route } from './sip-node.js';
export { type SaSet, type SaEntry } from '../secagree/sadb.js';
export {
  runScenario, startNetwork, DEMO_CREDENTIALS, DEMO_WALK, DEFAULT_RECORD, demoKeys,
  type ScenarioOptions, type ScenarioResult, type ScenarioUe, type UeOutcome, type ImsNetwork,
} from './scenario.js';
export { smLabel, summary, protection, serializeTrace, parseTrace, type TraceRecord } from './ladder.js';
export { PIDF_CONTENT_TYPE, buildPidf, checkPidf, pidfLocation, pidfStatus, stripLocation, type PresenceInfo } from './pidf.js';
export { capturePcap, espSaLines, keyRecords, type SaKeyRecord, type CaptureOptions } from './capture.js';
export { REDACTED, redactAuthValue, redactMessage, redactDatagram } from './redact.js';
export { type Datagram, type DatagramSocket, type DatagramNetwork, type WireRecord } from '../net/datagram.js';
export { MemoryNetwork } from '../net/memory.js';
export { type StreamNetwork, type StreamConnection, type StreamListener } from '../net/stream.js';
export { SipStreams, type SipTcpOptions, type StreamRoute } from './sip-streams.js';
export { SipStreamFramer, type SipStreamLimits, type FramerOutput } from '../sip/stream-framer.js';
export {
  WebSocketNetwork, RelaySession, RELAY_HEADER, RELAY_MAX_SOCKETS, RELAY_MAX_DATAGRAM, RELAY_MIN_PORT, relayDropCounters,
  type WebSocketLike, type RelayConnection, type RelayPolicy, type RelayDropReason,
} from '../net/ws-relay.js';
export { REGINFO_CONTENT_TYPE, REGINFO_NAMESPACE, buildReginfo, parseReginfo, type RegInfo, type RegInfoContact, type RegInfoRegistration, type RegContactEvent } from './reginfo.js';
export { RegEventServer } from './reg-event.js';
