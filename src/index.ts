// Public API of ipsec-3gpp. Internals (src/internal/) are not exported.
//
// Layering, bottom up: the WASM core binding (init) -> block ciphers and modes (Aes, AesCbc, AesGcm,
// AesGmac, Des3Cbc) -> hashes and MACs (digest, Hmac) -> TS 33.220 KDF -> TS 33.203 Annex I key expansion
// (expandKeys) and the algorithm registry -> anti-replay (ReplayWindow) -> ESP SAs (EspSa, sealBatch, openBatch) -> framing (ip, udp-encap).

/**
 * The core library: the WASM crypto (init first), ESP SAs (RFC 4303) with the TS 33.203 Annex I key
 * expansion, the algorithm registry, anti-replay, and IP / UDP-encapsulation framing. Browser-safe.
 *
 * @example
 * ```ts
 * import { init, EspSa } from 'ipsec-3gpp';
 * await init();
 * const tx = EspSa.outbound({ spi: 0x1000, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik });
 * const rx = EspSa.inbound({ spi: 0x1000, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik });
 * const opened = rx.open(tx.seal(new TextEncoder().encode('REGISTER ...'), 17));
 * ```
 *
 * @packageDocumentation
 * @module ipsec-3gpp
 */

export { init, memoryStats, type InitOptions, type WasmSource } from './internal/wasm.js';
export { wasmModules, type WasmModuleName } from './internal/wasm-modules.js';
export { initSync } from './internal/init-sync.js';
export { Ipsec3gppError, ErrorCode } from './errors.js';
export { Aes, AesCbc, AesGcm, AesGmac, type GcmOptions } from './aes.js';
export { Des, Des3, Des3Cbc, checkDes3Key } from './des.js';
export { digest, md5, sha1, sha256, type HashName } from './hash.js';
export { Hmac } from './hmac.js';
export { kdf } from './kdf.js';
export { expandKeys, type ExpandKeysInput, type EspKeys } from './keys.js';
export {
  INTEGRITY_ALGORITHMS, ENCRYPTION_ALGORITHMS, integrityAlgorithm, encryptionAlgorithm, isValidCombination,
  allCombinations, type IntegrityAlgorithm, type EncryptionAlgorithm, type AlgorithmInfo, type AlgorithmStatus,
} from './algorithms.js';
export { equalBytes } from './ct.js';
export { EspSa, sealBatch, openBatch, type EspSaOptions, type EspPacket, type EspStats, type SealItem, type OpenItem } from './esp.js';
export { ReplayWindow, ReplayStatus, type ReplayVerdict, type ReplayWindowOptions } from './replay.js';
export {
  IpProtocol, parseAddress, formatAddress, internetChecksum, buildUdp, parseUdp, buildIp, parseIp,
  type UdpDatagram, type IpPacket,
} from './ip.js';
export {
  NAT_T_PORT, NAT_KEEPALIVE, classifyUdpPayload, espSpi, encapsulateEsp, decapsulate, innerPacket, innerNextHeader, parseInnerPacket,
  type UdpPayloadKind, type Decapsulated, type InnerPacket,
} from './udp-encap.js';
export { WasmKey } from './internal/context.js';
export {
  parseSecurityHeader, formatSecurityHeader, sameMechanisms, isQvalue, SECAGREE_LIMITS,
  type SecMechanism, type SecParam,
} from './secagree/header.js';
export {
  IPSEC_3GPP, checkIpsec3gpp, ipsec3gppEntries, requireIpsec3gpp, formatIpsec3gpp,
  type Ipsec3gppCheck, type Ipsec3gppParams, type SecAgreeIssue, type IpsecMode,
} from './secagree/ipsec3gpp.js';
export { SpiAllocator, DEFAULT_SPI_RANGE, type SpiRange, type RandomU32 } from './secagree/spi.js';
export {
  SaDatabase, SaSet, type SaDatabaseOptions, type SaSetInit, type SaSetRestore, type SaEntry, type SaEvent, type SaName,
  type SaSetState, type SecEndpoint, type Role,
} from './secagree/sadb.js';
export {
  UeSecAgree, releaseCombinations, type UeSecAgreeOptions, type UeOffer, type UeChallengeResult, type UeRelease, type Combination,
} from './secagree/ue.js';
export {
  PcscfSecAgree, RegistrationAttempt, DEFAULT_MAX_ATTEMPTS_PER_KEY, accessType, defaultPolicyCombinations, withIntegrityProtected, withoutIkCk, withoutSecAgreeTag, SECURITY_HEADERS,
  type PcscfPolicy, type PcscfSecAgreeOptions, type ConfidentialityMode, type InitialDecision,
} from './secagree/pcscf.js';
export {
  parseAuthHeader, formatAuthHeader, authParam, setAuthParam, removeAuthParams, AUTH_HEADER_LIMIT,
  type AuthHeader, type AuthParam,
} from './sip/auth-header.js';
export { Milenage, milenage, type MilenageKeys, type MilenageOutput } from './aka/milenage.js';
export { SqnGenerator, SqnVerifier, sqnToBytes, sqnFromBytes, SQN_MAX, type SqnOptions } from './aka/sqn.js';
export { Usim, type AkaResult } from './aka/usim.js';
export { Hss, type AuthVector, type SubscriberInit } from './aka/hss.js';
export {
  AKAV1_MD5, akaNonce, parseAkaNonce, digestResponse, parseAkaChallenge, akaAuthorization, initialAuthorization,
  AkaDigestServer, toBase64, fromBase64,
  type AkaChallenge, type AkaCredentialsInput, type AkaVerdict, type AkaServerOptions, type DigestInput, type Qop,
} from './aka/digest-aka.js';
export {
  SipHeaders, parseSipMessage, serializeSipMessage, splitList, headerParam, addressUri, parseVia, parseCSeq, canonicalName, SIP_LIMITS,
  SipParseError, SIP_METHODS, parseSipUri, parseNameAddr,
  type SipMessage, type SipRequest, type SipResponse, type SipUri, type SipRefusalStatus,
} from './sip/message.js';
export { TransactionLayer, DEFAULT_TIMERS, type TimerValues, type Incoming, type SendFn } from './sip/transaction.js';
