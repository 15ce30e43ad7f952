// The one error class of the library. Every rejection carries a stable `code` that callers can switch
// on; messages say what was wrong (names, lengths, positions) and never contain key material.

/** Stable error codes. New codes may be added; existing ones keep their meaning. */
export const ErrorCode = {
  /** `init()` / `initSync()` has not completed. */
  NOT_INITIALIZED: 'NOT_INITIALIZED',
  /**
   * The WASM module given to `init({ wasm })` could not be fetched or compiled, or is not this library's
   * module (an export is missing, e.g. `aka.wasm` passed for `core.wasm`). Nothing was initialised.
   */
  WASM_LOAD: 'WASM_LOAD',
  /**
   * The algorithm's WASM module was not loaded: `init({ algorithms })` (the split build, README "In the
   * browser") did not list it. Nothing was allocated or changed.
   */
  ALGORITHM_NOT_LOADED: 'ALGORITHM_NOT_LOADED',
  /** An argument has the wrong type (e.g. not a Uint8Array). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A key has a length the algorithm does not accept. */
  KEY_LENGTH: 'KEY_LENGTH',
  /** An IV or nonce has the wrong length. */
  IV_LENGTH: 'IV_LENGTH',
  /** A tag length the algorithm does not accept, or a tag of the wrong length. */
  TAG_LENGTH: 'TAG_LENGTH',
  /** A DES-EDE3 key with K1 == K2 or K2 == K3 (RFC 2451 2.4), parity bits ignored. */
  WEAK_KEY: 'WEAK_KEY',
  /** Input to a block mode without padding is not a multiple of the block size. */
  NOT_BLOCK_ALIGNED: 'NOT_BLOCK_ALIGNED',
  /** A caller-provided output buffer is too small. */
  OUTPUT_TOO_SMALL: 'OUTPUT_TOO_SMALL',
  /** Input larger than a single-call operation accepts. */
  INPUT_TOO_LARGE: 'INPUT_TOO_LARGE',
  /** An authentication tag (GCM/GMAC) did not verify; no plaintext was released. */
  TAG_MISMATCH: 'TAG_MISMATCH',
  /** An `alg` or `ealg` identifier this library does not know. */
  UNKNOWN_ALGORITHM: 'UNKNOWN_ALGORITHM',
  /** An `alg`/`ealg` pair TS 33.203 does not allow (e.g. aes-gcm with an HMAC). */
  INVALID_COMBINATION: 'INVALID_COMBINATION',
  /** A key object was used after `destroy()`. */
  DESTROYED: 'DESTROYED',
  /** WASM memory could not grow for a new key context. */
  OUT_OF_MEMORY: 'OUT_OF_MEMORY',
  /** ESP packet too short, too long, or not aligned as its algorithms require (RFC 4303 3.4). */
  ESP_MALFORMED: 'ESP_MALFORMED',
  /** The packet's SPI is not the SA's. */
  ESP_SPI: 'ESP_SPI',
  /** Sequence number already received (RFC 4303 3.4.3). */
  ESP_REPLAY_DUPLICATE: 'ESP_REPLAY_DUPLICATE',
  /** Sequence number left of the replay window, or 0. */
  ESP_REPLAY_TOO_OLD: 'ESP_REPLAY_TOO_OLD',
  /** ICV (HMAC-*-96, GCM/GMAC tag) does not verify. */
  ESP_INTEGRITY: 'ESP_INTEGRITY',
  /** Authentic packet with an invalid pad length or padding bytes. */
  ESP_PADDING: 'ESP_PADDING',
  /** The sequence number would cycle (RFC 4303 3.3.3): the SA must be replaced. */
  ESP_SEQ_EXHAUSTED: 'ESP_SEQ_EXHAUSTED',
  /** seal on an inbound SA, or open on an outbound one. */
  ESP_DIRECTION: 'ESP_DIRECTION',
  /** Payload too large for one ESP packet. */
  ESP_TOO_LARGE: 'ESP_TOO_LARGE',
  /** A replay window size outside the supported range. */
  REPLAY_WINDOW_SIZE: 'REPLAY_WINDOW_SIZE',
  /** Bad SPI, next header or other SA parameter. */
  ESP_PARAMETER: 'ESP_PARAMETER',
  /** A UDP-encapsulation or IP framing input that is not well formed. */
  FRAME_MALFORMED: 'FRAME_MALFORMED',
  /** Security-Client/-Server/-Verify syntax error (RFC 3329 2.2); `position` says where. */
  SECAGREE_PARSE: 'SECAGREE_PARSE',
  /** An ipsec-3gpp mechanism with a bad, missing or out-of-range parameter (TS 33.203 Annex H). */
  SECAGREE_INVALID: 'SECAGREE_INVALID',
  /** Security-Server missing, or without a usable ipsec-3gpp entry: the UE abandons (TS 24.229 5.1.1.2). */
  SECAGREE_MISSING: 'SECAGREE_MISSING',
  /** No mechanism both sides accept (policy, algorithms, release). */
  SECAGREE_NO_ACCEPTABLE: 'SECAGREE_NO_ACCEPTABLE',
  /** Security-Verify differs from the Security-Server sent, or Security-Client from the stored one. */
  SECAGREE_MISMATCH: 'SECAGREE_MISMATCH',
  /** An operation not allowed in the registration's or SA set's current state. */
  SECAGREE_STATE: 'SECAGREE_STATE',
  /** A UE operation that needs a registration (PUBLISH, SUBSCRIBE, re-/de-registration) while not registered. */
  NOT_REGISTERED: 'NOT_REGISTERED',
  /** A reginfo document (RFC 3680) that is well-formed XML but not a valid registration state. */
  REGINFO_INVALID: 'REGINFO_INVALID',
  /** No SPI left in the configured range, or a port/SPI clash. */
  SPI_EXHAUSTED: 'SPI_EXHAUSTED',
  /** An SA database rule violated (duplicate SPI, unknown set, limit reached). */
  SADB: 'SADB',
  /** WWW-Authenticate / Authorization syntax error; `position` says where. */
  AUTH_PARSE: 'AUTH_PARSE',
  /** A required Digest parameter is missing, or one has a value outside its allowed set. */
  AUTH_PARAM: 'AUTH_PARAM',
  /** The AKA nonce is not valid base64 or shorter than RAND || AUTN (32 bytes). */
  AKA_NONCE: 'AKA_NONCE',
  /** AUTS whose MAC-S does not verify (the HSS refuses to resynchronise). */
  AKA_RESYNC: 'AKA_RESYNC',
  /** Unknown subscriber or nonce, or an AKA operation out of order. */
  AKA_STATE: 'AKA_STATE',
  /** A malformed SIP message (RFC 3261); `position` is the line number when known. */
  SIP_PARSE: 'SIP_PARSE',
  /** A SIP transaction timed out (Timer F / B) or was used out of order. */
  SIP_TRANSACTION: 'SIP_TRANSACTION',
  /**
   * A SIP stream (TCP, RFC 3261 18.3) carried something that cannot be framed: a header section or a body
   * over the bounds, a missing or bad Content-Length. The connection is closed.
   */
  SIP_STREAM: 'SIP_STREAM',
  /** An XML document that is not well-formed, has a DOCTYPE, is not UTF-8 XML 1.0, or exceeds the bounds (ims/xml.ts). */
  XML_MALFORMED: 'XML_MALFORMED',
  /** Well-formed XML that is not a PIDF document (RFC 3863): wrong root, or an element PIDF does not define. */
  PIDF_INVALID: 'PIDF_INVALID',
  /** The WebSocket datagram relay (net/ws-relay.ts): closed connection, bad frame, or a limit reached. */
  RELAY: 'RELAY',
  /**
   * The raw wire (ESP as IP protocol 50, TUN device) was asked for where it cannot exist: not Linux, or the
   * optional native addon (native/) is not built. The message says which and how to get it.
   */
  WIRE_UNAVAILABLE: 'WIRE_UNAVAILABLE',
  /** The raw wire needs a privilege this process lacks: CAP_NET_RAW (raw sockets) or CAP_NET_ADMIN (TUN, routing). */
  WIRE_PERMISSION: 'WIRE_PERMISSION',
  /** The operating system refused to set the wire up (address not local, TUN name taken, port in use, ...). */
  WIRE_SETUP: 'WIRE_SETUP',
  /**
   * A stored record (src/store/) that is torn, truncated or tampered with: its AES-GCM tag does not verify
   * under the key-encryption key with the record's identity as associated data. It is refused whole, never
   * half-loaded.
   */
  STORE_RECORD: 'STORE_RECORD',
  /** The key-encryption key of a store is missing, not 32 bytes, or not the one the store was written with. */
  STORE_KEK: 'STORE_KEK',
  /** A store cannot be used: its optional package is not installed, its server does not answer, or its URL is bad. */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The error thrown for every invalid input or failed check.
 *
 * @example
 * ```ts
 * try { gcm.open(nonce, sealed) } catch (e) {
 *   if (e instanceof Ipsec3gppError && e.code === 'TAG_MISMATCH') dropPacket();
 * }
 * ```
 */
export class Ipsec3gppError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** For parse errors: the character offset in the input where the problem is. */
  readonly position: number | undefined;

  constructor(code: ErrorCode, message: string, position?: number) {
    super(message);
    this.name = 'Ipsec3gppError';
    this.code = code;
    this.position = position;
  }

  /** Serialises to `{ name, code, message }` (and `position` when set): never more (no stack, no inputs). */
  toJSON(): { name: string; code: ErrorCode; message: string; position?: number } {
    const j: { name: string; code: ErrorCode; message: string; position?: number } = { name: this.name, code: this.code, message: this.message };
    if (this.position !== undefined) j.position = this.position;
    return j;
  }
}
