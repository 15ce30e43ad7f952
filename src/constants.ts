// Constants shared by the AssemblyScript core (assembly/ imports this file) and the TypeScript layer.
//
// This file must stay valid in both languages: plain `export const NAME = <integer literal>` only
// (AssemblyScript infers i32, TypeScript infers number). Every buffer size, algorithm number and
// status code that crosses the WASM boundary is defined here and nowhere else.

// ---- Fixed buffers inside WASM memory (see assembly/memory.ts) ----
/** Bytes in the shared I/O window: the largest input one WASM call can take (an ESP packet fits). */
export const IO_BUFFER_SIZE = 131072;
/** Bytes in the parameter window: keys, IVs, nonces, tags, expanded keys. */
export const PARAM_BUFFER_SIZE = 1024;

// ---- Integrity algorithm numbers (Security-Client `alg`, TS 33.203 Annex H) ----
export const ALG_NULL = 0;
export const ALG_HMAC_MD5_96 = 1;
export const ALG_HMAC_SHA1_96 = 2;
export const ALG_AES_GMAC = 3;

// ---- Encryption algorithm numbers (Security-Client `ealg`) ----
export const EALG_NULL = 0;
export const EALG_DES_EDE3_CBC = 1;
export const EALG_AES_CBC = 2;
export const EALG_AES_GCM = 3;

// ---- Hash numbers (assembly/hash.ts, assembly/hmac.ts) ----
export const HASH_MD5 = 1;
export const HASH_SHA1 = 2;
export const HASH_SHA256 = 3;

// ---- Sizes ----
export const AES_BLOCK = 16;
export const DES_BLOCK = 8;
export const GCM_NONCE = 12;
export const GCM_TAG_MAX = 16;
export const HASH_BLOCK = 64;
export const MD5_LEN = 16;
export const SHA1_LEN = 20;
export const SHA256_LEN = 32;
export const CK_LEN = 16;
export const IK_LEN = 16;
export const SALT_LEN = 4;

// ---- Context sizes in WASM memory (bytes; each a multiple of 16) ----
/** AES: u32 rounds, u32 key length, then 60 encryption and 60 decryption round-key words. */
export const AES_CTX_SIZE = 496;
/** DES-EDE3: three DES key schedules of 16 rounds x 2 packed words. */
export const DES3_CTX_SIZE = 384;
/** Single DES: one key schedule. */
export const DES_CTX_SIZE = 128;
/** Hash state: 8 chaining words, u64 length, 64-byte block buffer, u32 fill, u32 algorithm. */
export const HASH_CTX_SIZE = 112;
/** HMAC: u32 algorithm, pad, inner chaining state (32 B), outer chaining state (32 B). */
export const HMAC_CTX_SIZE = 80;
/** GCM/GMAC: AES context, then H and its precomputed forms (6 x u64). */
export const GCM_CTX_SIZE = 560;
/** Milenage: the AES context of K, then OPc (16 bytes). */
export const MILENAGE_CTX_SIZE = 512;
/** Bytes written by milenage_run: MAC-A 8, MAC-S 8, RES 8, CK 16, IK 16, AK 6, AK* 6. */
export const MILENAGE_OUT_SIZE = 68;

// ---- ESP security associations (assembly/esp.ts) and replay windows (assembly/replay.ts) ----
/** Replay window header: u64 highest authenticated sequence number, window, ring mask, flags. */
export const REPLAY_HDR_SIZE = 32;
/**
 * Fixed part of an SA context (header and the address of its key context); an inbound SA's replay window
 * (REPLAY_HDR_SIZE, then 4 bytes per 32 sequence numbers) follows it.
 */
export const SA_FIXED_SIZE = 48;
/**
 * Key context of ESP SAs (assembly/esp.ts), shared by the four SAs of a set: the HMAC context
 * (HMAC_CTX_SIZE), then the cipher context (at most GCM_CTX_SIZE).
 */
export const ESP_KEYS_SIZE = 640;
/** Window sizes accepted (RFC 4303: at least 32; RFC 6479 rings make large ones cheap). */
export const REPLAY_WINDOW_MIN = 32;
export const REPLAY_WINDOW_MAX = 262144;
export const REPLAY_WINDOW_DEFAULT = 64;
/** SA flags. */
export const SA_OUTBOUND = 1;
export const SA_ESN = 2;
/** Random bytes kept in WASM for CBC IVs, refilled from crypto.getRandomValues (src/internal/random.ts). */
export const IV_POOL_SIZE = 32768;
/** Batch descriptors: at most this many packets per batch call, 32 bytes each. */
export const BATCH_MAX = 2048;
export const BATCH_RECORD_SIZE = 32;
/** Largest ESP packet handled (an IPv4 datagram's limit). */
export const ESP_MAX_PACKET = 65535;
/** Next Header value of a dummy packet (RFC 4303 2.6), discarded by the receiver. */
export const NEXT_HEADER_DUMMY = 59;

// ---- Status codes returned by WASM functions (0 = success) ----
export const ST_OK = 0;
export const ST_BAD_LENGTH = 1;
export const ST_BAD_TAG = 2;
export const ST_BAD_ALGORITHM = 3;
export const ST_WEAK_KEY = 4;
export const ST_NO_MEMORY = 5;
// ESP inbound/outbound results (returned negated by esp_seal / esp_open).
export const ST_ESP_MALFORMED = 10;
export const ST_ESP_SPI = 11;
export const ST_REPLAY_DUPLICATE = 12;
export const ST_REPLAY_TOO_OLD = 13;
export const ST_ESP_INTEGRITY = 14;
export const ST_ESP_PADDING = 15;
export const ST_ESP_DUMMY = 16;
export const ST_SEQ_EXHAUSTED = 17;
export const ST_ESP_DIRECTION = 18;
