// ESP security associations (RFC 4303) as IMS uses them (TS 33.203 clause 7 and Annex I): one object per
// unidirectional SA, its keys and state in WASM memory, one WASM call per packet. The processing order,
// padding, ICV and IV rules are documented in assembly/esp.ts, which implements them.

import {
  ESP_MAX_PACKET, IO_BUFFER_SIZE, REPLAY_WINDOW_DEFAULT, SA_ESN, SA_OUTBOUND,
  ST_BAD_ALGORITHM, ST_BAD_LENGTH, ST_ESP_DIRECTION, ST_ESP_DUMMY, ST_ESP_INTEGRITY, ST_ESP_MALFORMED,
  ST_ESP_PADDING, ST_ESP_SPI, ST_OK, ST_REPLAY_DUPLICATE, ST_REPLAY_TOO_OLD, ST_SEQ_EXHAUSTED, ST_WEAK_KEY,
  BATCH_MAX, BATCH_RECORD_SIZE, IV_POOL_SIZE, ESP_KEYS_SIZE,
} from './constants.js';
import {
  encryptionSizes, integritySizes, isValidCombination,
  type AlgorithmInfo, type AlgorithmSizes, type EncryptionAlgorithm, type IntegrityAlgorithm,
} from './algorithms.js';
import { ErrorCode, Ipsec3gppError } from './errors.js';
import * as check from './internal/check.js';
import { WasmKey } from './internal/context.js';
import { takeRandom } from './internal/random.js';
import { coreHeap, requireAlgorithms, wasm, type Core } from './internal/wasm.js';
import { expandKeys } from './keys.js';
import { checkWindowSize } from './replay.js';

/** Options of {@link EspSa.outbound} and {@link EspSa.inbound}. */
export interface EspSaOptions {
  /**
   * The SA's SPI (chosen by its receiver): 1..2^32-1. 0 is reserved (RFC 4303 2.1); 1..255 are IANA's, but
   * peers do allocate them (Kamailio's P-CSCF hands out 100..255), so they are accepted; this library's
   * own allocator (SpiAllocator) starts at 256.
   */
  spi: number;
  /** Integrity algorithm (`alg=`). */
  alg: IntegrityAlgorithm;
  /** Encryption algorithm (`ealg=`, default `null`). */
  ealg?: EncryptionAlgorithm;
  /** CK_IM and IK_IM from IMS AKA, expanded here per TS 33.203 Annex I... */
  ck?: Uint8Array;
  /** IK_IM (16 bytes), with `ck`. */
  ik?: Uint8Array;
  /** ...or keys already expanded (as {@link expandKeys} returns them). */
  encKey?: Uint8Array;
  /** The expanded integrity key (with `encKey`; lengths per the algorithm, {@link AlgorithmInfo}). */
  authKey?: Uint8Array;
  /** The 4-byte nonce salt of AES-GCM / AES-GMAC (RFC 4106 / 4543), with expanded keys. */
  salt?: Uint8Array;
  /** Inbound: replay window size, 32..262144 (default 64). */
  replayWindow?: number;
  /** Extended sequence numbers (RFC 4303 2.2.1). TS 33.203 does not use them; default false. */
  esn?: boolean;
  /**
   * Outbound: when the sequence number reaches this value, `onSoftLimit` is called (once), so that the
   * SIP layer can re-register and replace the SA set before the hard limit (2^32 - 1 without ESN).
   */
  softLimit?: number;
  /** Called once when the outbound sequence number reaches `softLimit`. */
  onSoftLimit?: (sa: EspSa) => void;
}

/** A packet accepted by {@link EspSa.open}. */
export interface EspPacket {
  /** The decrypted payload (padding and trailer removed). */
  payload: Uint8Array;
  /** Next Header: 17 UDP, 6 TCP, 4 / 41 for tunnel mode (3GPP UDP-enc-tun). */
  nextHeader: number;
  /** The full sequence number (with ESN, the inferred 64-bit value). */
  seq: number;
}

/** Per-SA counters, kept in TypeScript at no per-packet WASM cost. */
export interface EspStats {
  /** Packets sealed (outbound) or accepted (inbound). */
  packets: number;
  /** Bytes of those packets as on the wire (ESP packets, SPI to ICV). */
  bytes: number;
  /**
   * Inbound packets refused, by reason (the ErrorCode each maps to: ESP_MALFORMED, ESP_SPI, ESP_REPLAY_*,
   * ESP_INTEGRITY, ESP_PADDING; `dummy`: RFC 4303 2.6 dummy packets, next header 59).
   */
  dropped: {
    malformed: number; spi: number; replay: number; integrity: number; padding: number; dummy: number;
  };
}

const RES_AT = 256; // open results in the parameter window: u32 next header, u64 sequence number
const ESN_LIMIT = Number.MAX_SAFE_INTEGER;

const STATUS: Record<number, [ErrorCode, string, (keyof EspStats['dropped'])?]> = {
  [ST_ESP_MALFORMED]: ['ESP_MALFORMED', 'ESP packet length or alignment is invalid', 'malformed'],
  [ST_ESP_SPI]: ['ESP_SPI', 'ESP packet SPI does not match the SA', 'spi'],
  [ST_REPLAY_DUPLICATE]: ['ESP_REPLAY_DUPLICATE', 'ESP sequence number already received', 'replay'],
  [ST_REPLAY_TOO_OLD]: ['ESP_REPLAY_TOO_OLD', 'ESP sequence number left of the replay window (or 0)', 'replay'],
  [ST_ESP_INTEGRITY]: ['ESP_INTEGRITY', 'ESP ICV does not verify', 'integrity'],
  [ST_ESP_PADDING]: ['ESP_PADDING', 'ESP padding or pad length is invalid', 'padding'],
  [ST_SEQ_EXHAUSTED]: ['ESP_SEQ_EXHAUSTED', 'ESP sequence number would cycle: replace the SA (re-register)'],
  [ST_ESP_DIRECTION]: ['ESP_DIRECTION', 'operation not valid for this SA direction'],
};

function badCombination(alg: { name: string }, ealg: { name: string }): Ipsec3gppError {
  return new Ipsec3gppError('INVALID_COMBINATION', `alg=${alg.name} cannot be combined with ealg=${ealg.name}`);
}

function statusError(st: number): Ipsec3gppError {
  const e = STATUS[st];
  return new Ipsec3gppError(e?.[0] ?? 'ESP_MALFORMED', e?.[1] ?? `ESP status ${st}`);
}

function checkByte(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 255) throw new Ipsec3gppError('ESP_PARAMETER', `${name} must be 0..255`);
  return v;
}

/** The dropped counters of {@link EspStats}, by reason. */
type Dropped = EspStats['dropped'];

/**
 * What the SAs of one kind have in common (direction, algorithms, window, ESN, soft limit): one shared
 * object for all of them instead of a dozen fields in each (README "Memory per registration").
 */
interface SaKind {
  readonly direction: 'outbound' | 'inbound';
  readonly alg: IntegrityAlgorithm;
  readonly ealg: EncryptionAlgorithm;
  readonly esn: boolean;
  readonly replayWindow: number;
  readonly ivLength: number;
  readonly icvLength: number;
  readonly blockSize: number;
  /** Whether the cipher takes a random explicit IV (CBC). */
  readonly cbc: boolean;
  readonly maxPayload: number;
  readonly softLimit: number;
  /** Bytes of the SA's context in WASM. An outbound SA's window is 0. */
  readonly size: number;
}

const kinds = new Map<string, SaKind>();

function kindOf(alg: AlgorithmSizes<IntegrityAlgorithm>, ealg: AlgorithmSizes<EncryptionAlgorithm>, esn: boolean, window: number, softLimit: number | undefined, c: Core): SaKind {
  const id = [alg.name, ealg.name, esn, window, softLimit].join();
  let k = kinds.get(id);
  if (k === undefined) {
    const ivLength = Math.max(alg.ivLength, ealg.ivLength);
    const icvLength = alg.icvLength + ealg.icvLength;
    const blockSize = Math.max(4, ealg.blockSize);
    k = {
      direction: window ? 'inbound' : 'outbound', alg: alg.name, ealg: ealg.name, esn, replayWindow: window, ivLength, icvLength, blockSize,
      cbc: ealg.name === 'aes-cbc' || ealg.name === 'des-ede3-cbc',
      maxPayload: ESP_MAX_PACKET - 8 - ivLength - blockSize - 1 - icvLength,
      softLimit: softLimit ?? (esn ? ESN_LIMIT : 0xffffffff - 0x10000),
      size: c.x.esp_sa_size(window),
    };
    if (kinds.size < 256) kinds.set(id, k);
  }
  return k;
}

/**
 * What few SAs need: the dropped counters once a packet was refused, the store's sequence watch, the
 * soft-limit callback. Made on first use, so that an SA is one object of a few fields until then.
 */
interface SaExtras {
  dropped: Dropped | undefined;
  watchAt: number;
  watch: ((seq: number) => void) | undefined;
  onSoftLimit: ((sa: EspSa) => void) | undefined;
  softLimitRaised: boolean;
}

// No private methods in EspSa (and its subclass): V8 gives each instance of a class with private methods
// a slot for the class's brand, 8 bytes per SA per class.
function newExtras(): SaExtras {
  return { dropped: undefined, watchAt: Infinity, watch: undefined, onSoftLimit: undefined, softLimitRaised: false };
}

const noDrops = (): Dropped => ({ malformed: 0, spi: 0, replay: 0, integrity: 0, padding: 0, dummy: 0 });

/**
 * @internal The keys of ESP SAs in WASM memory (HMAC states and cipher schedules, assembly/esp.ts), apart
 * from the SAs so that the four SAs of a set (TS 33.203 7.1: same algorithms and, by Annex I, the same
 * keys) share one: reference-counted by the SAs that use it, zeroed and freed when the last goes.
 */
export class EspKeyContext extends WasmKey {
  readonly alg: IntegrityAlgorithm;
  readonly ealg: EncryptionAlgorithm;
  #refs = 1;

  /**
   * Expands CK/IK (TS 33.203 Annex I) or takes expanded keys, checks them, and initialises the context.
   * The creator holds one reference ({@link EspKeyContext.release} it once the SAs are made). `tracked`
   * false: WasmKey's finaliser does not free it (the SA database's set does, src/secagree/sadb.ts).
   */
  static create(o: { alg: IntegrityAlgorithm; ealg: EncryptionAlgorithm } & Pick<EspSaOptions, 'ck' | 'ik' | 'encKey' | 'authKey' | 'salt'>, tracked = true): EspKeyContext {
    const alg = integritySizes(o.alg);
    const ealg = encryptionSizes(o.ealg);
    if (!isValidCombination(alg.name, ealg.name)) throw badCombination(alg, ealg);
    requireAlgorithms(alg.name, ealg.name);
    // CK and IK (either given: both needed), else expanded keys (missing ones are empty: KEY_LENGTH).
    const keys = o.ck !== undefined || o.ik !== undefined
      ? expandKeys({ alg: alg.name, ealg: ealg.name, ck: o.ck!, ik: o.ik! })
      : { encKey: o.encKey ?? new Uint8Array(0), authKey: o.authKey ?? new Uint8Array(0), salt: o.salt };
    checkKeys(alg, ealg, keys.encKey, keys.authKey, keys.salt);
    return new EspKeyContext(alg, ealg, keys, tracked);
  }

  private constructor(alg: AlgorithmSizes<IntegrityAlgorithm>, ealg: AlgorithmSizes<EncryptionAlgorithm>, keys: { encKey: Uint8Array; authKey: Uint8Array; salt?: Uint8Array | undefined }, tracked: boolean) {
    const c = wasm();
    super(ESP_KEYS_SIZE, coreHeap, tracked);
    this.alg = alg.name;
    this.ealg = ealg.name;
    // Stage keys in the parameter window, initialise, wipe the window (views are current: `c` is the
    // one core object, refreshed in place by the allocation above).
    const p = c.param;
    const encAt = 0, authAt = 64, saltAt = 128;
    p.set(keys.encKey, encAt);
    p.set(keys.authKey, authAt);
    if (keys.salt) p.set(keys.salt, saltAt);
    try {
      const st = c.x.esp_keys_init(this.ctx, alg.id, ealg.id, c.paramPtr + encAt, keys.encKey.length, c.paramPtr + authAt, keys.authKey.length, c.paramPtr + saltAt);
      if (st !== ST_OK) {
        this.destroy();
        if (st === ST_WEAK_KEY) throw new Ipsec3gppError('WEAK_KEY', 'DES-EDE3 key has K1 == K2 or K2 == K3 (RFC 2451 2.4)');
        if (st === ST_BAD_ALGORITHM) throw badCombination(alg, ealg);
        if (st === ST_BAD_LENGTH) throw new Ipsec3gppError('KEY_LENGTH', 'key length does not fit the algorithm');
        throw new Ipsec3gppError('ESP_PARAMETER', `SA initialisation failed (status ${st})`);
      }
    } finally {
      p.fill(0, 0, 160);
    }
  }

  /** The context address (for esp_sa_init). */
  get ptr(): number {
    return this.ctx;
  }

  /** One more SA uses the context. */
  retain(): void {
    this.ctx; // throws DESTROYED
    this.#refs++;
  }

  /** One user fewer; the last one zeroes and frees the context. */
  release(): void {
    if (this.#refs > 0 && --this.#refs === 0) this.destroy();
  }
}

/**
 * One unidirectional ESP SA.
 *
 * @example
 * ```ts
 * await init();
 * const tx = EspSa.outbound({ spi, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik });
 * const rx = EspSa.inbound({ spi, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik, replayWindow: 64 });
 * const packet = tx.seal(sipMessage, 17);         // SPI | Seq | IV | ciphertext | ICV
 * const { payload, nextHeader, seq } = rx.open(packet)!;
 * tx.delete(); rx.delete();                       // keys zeroed in WASM memory
 * ```
 */
export class EspSa extends WasmKey {
  // A few fields per SA; what SAs of a kind share is in #kind, what few SAs need in #x (made on first use).
  readonly #kind: SaKind;
  /** The key context this SA uses (its own, or shared with the other SAs of its set). */
  readonly #keys: EspKeyContext;
  /** The SPI as a signed 32-bit integer (a small integer for V8, where 2^31..2^32-1 would be boxed). */
  readonly #spi: number;
  #packets = 0;
  #bytes = 0;
  #x: SaExtras | undefined = undefined;

  /** An SA for packets this side sends. */
  static outbound(options: EspSaOptions): EspSa {
    return new EspSa(options, true, undefined);
  }

  /** An SA for packets this side receives. */
  static inbound(options: EspSaOptions): EspSa {
    return new EspSa(options, false, undefined);
  }

  // Private to users. With `shared`, an SA over a key context shared with other SAs (the four SAs of a
  // set, TS 33.203 Annex I: same algorithms, same keys), which must match its algorithms and is freed
  // (zeroed) when the last SA using it is deleted: the SA database's entries, which subclass EspSa through
  // EspSaBase (below) and have a finaliser of their own.
  private constructor(o: EspSaOptions, outbound: boolean, shared: EspKeyContext | undefined) {
    if (!Number.isInteger(o.spi) || o.spi < 1 || o.spi > 0xffffffff) {
      throw new Ipsec3gppError('ESP_PARAMETER', 'SPI must be an integer 1..4294967295 (RFC 4303 2.1: 0 is reserved)');
    }
    const alg = integritySizes(o.alg);
    const ealg = encryptionSizes(o.ealg ?? 'null');
    if (!isValidCombination(alg.name, ealg.name)) throw badCombination(alg, ealg);
    const esn = o.esn === true;
    const window = outbound ? 0 : checkWindowSize(o.replayWindow ?? REPLAY_WINDOW_DEFAULT);
    if (shared !== undefined && (shared.alg !== alg.name || shared.ealg !== ealg.name || shared.destroyed)) {
      throw new Ipsec3gppError('ESP_PARAMETER', 'the shared key context is for other algorithms, or destroyed');
    }
    const c = wasm();
    const kind = kindOf(alg, ealg, esn, window, o.softLimit, c);
    // An SA of a set is not tracked by WasmKey's finaliser: its set's is (src/secagree/sadb.ts).
    super(kind.size, coreHeap, shared === undefined);
    // Own keys (expanded and checked here: a bad key leaves nothing allocated), or the shared context.
    let keys: EspKeyContext;
    try {
      keys = shared ?? EspKeyContext.create({ ...o, alg: alg.name, ealg: ealg.name });
    } catch (e) {
      super.destroy();
      throw e;
    }
    if (shared !== undefined) keys.retain(); // a context of its own: the creator's reference is the SA's
    this.#keys = keys;
    this.#kind = kind;
    this.#spi = o.spi | 0;
    if (o.onSoftLimit !== undefined) (this.#x ??= newExtras()).onSoftLimit = o.onSoftLimit;

    // The SA takes its salt (GCM/GMAC) from the key context, inside WASM.
    const st = c.x.esp_sa_init(this.ctx, keys.ptr, o.spi >>> 0, (outbound ? SA_OUTBOUND : 0) | (esn ? SA_ESN : 0), alg.id, ealg.id, window);
    if (st !== ST_OK) {
      this.destroy();
      throw badCombination(alg, ealg);
    }
  }

  /** The Security Parameters Index carried in every packet of this SA (RFC 4303 2.1). */
  get spi(): number {
    return this.#spi >>> 0;
  }

  /** Whether this SA seals (outbound) or opens (inbound) packets. */
  get direction(): 'outbound' | 'inbound' {
    return this.#kind.direction;
  }

  /** The integrity algorithm (`alg` of the security agreement). */
  get alg(): IntegrityAlgorithm {
    return this.#kind.alg;
  }

  /** The encryption algorithm (`ealg` of the security agreement). */
  get ealg(): EncryptionAlgorithm {
    return this.#kind.ealg;
  }

  /** Extended (64-bit) sequence numbers (RFC 4303 2.2.1); only the low 32 bits are on the wire. */
  get esn(): boolean {
    return this.#kind.esn;
  }

  /** Inbound replay window size (0 for outbound SAs). */
  get replayWindow(): number {
    return this.#kind.replayWindow;
  }

  /** Bytes of explicit IV per packet. */
  get ivLength(): number {
    return this.#kind.ivLength;
  }

  /** Bytes of ICV per packet. */
  get icvLength(): number {
    return this.#kind.icvLength;
  }

  /**
   * Packets and bytes sealed or opened, and inbound packets dropped, by reason: a snapshot (a new object
   * per read; the counters themselves are fields of the SA).
   */
  get stats(): EspStats {
    const d = this.#x?.dropped;
    return {
      packets: this.#packets, bytes: this.#bytes,
      dropped: { ...(d ?? noDrops()) },
    };
  }

  /** Zeroes the SA's state in WASM memory and releases it, and its keys once no other SA of its set uses them. Idempotent. */
  override destroy(): void {
    if (this.destroyed) return;
    super.destroy();
    this.#keys.release();
  }

  /** Largest payload one packet can carry. */
  get maxPayload(): number {
    return this.#kind.maxPayload;
  }

  /** Packet length for a payload of `payloadLength` bytes. */
  packetLength(payloadLength: number): number {
    const k = this.#kind;
    const b = k.blockSize;
    const padded = Math.ceil((payloadLength + 2) / b) * b;
    return 8 + k.ivLength + padded + k.icvLength;
  }

  /**
   * Protects `payload`: returns SPI | Seq | IV | ciphertext | ICV (in `out` when given, as a subarray).
   * Throws ESP_SEQ_EXHAUSTED when the sequence number would cycle (the SA is left as it was).
   */
  seal(payload: Uint8Array, nextHeader = 17, out?: Uint8Array): Uint8Array {
    check.bytes('payload', payload);
    checkByte('nextHeader', nextHeader);
    const k = this.#kind;
    if (payload.length > k.maxPayload) throw new Ipsec3gppError('ESP_TOO_LARGE', `payload of ${payload.length} bytes exceeds ${k.maxPayload}`);
    const len = this.packetLength(payload.length);
    if (out !== undefined) check.output(out, len); // before anything changes
    const c = wasm();
    const ctx = this.ctx;
    c.io.set(payload, 8 + k.ivLength);
    const iv = k.cbc ? takeRandom(c, k.ivLength) : 0;
    const r = c.x.esp_seal(ctx, c.ioPtr, payload.length, nextHeader, iv);
    if (r < 0) throw statusError(-r);
    // Allocating: one slice (allocation and copy in one step: ~0.2 us less than new + set at 600 B).
    const packet = out === undefined ? c.io.slice(0, r) : copyOut(c, 0, r, out);
    this._sent(c, r, 0);
    return packet;
  }

  /**
   * Verifies and decrypts `packet` in the RFC 4303 order. Returns the payload (a copy, or in `out`), or
   * null for an authentic dummy packet (next header 59), which is dropped. Throws ESP_MALFORMED, ESP_SPI,
   * ESP_REPLAY_DUPLICATE, ESP_REPLAY_TOO_OLD, ESP_INTEGRITY or ESP_PADDING; a rejected packet leaves the
   * SA (replay window included) exactly as it was.
   */
  open(packet: Uint8Array, out?: Uint8Array): EspPacket | null {
    check.bytes('packet', packet);
    const c = wasm();
    const ctx = this.ctx;
    if (packet.length > ESP_MAX_PACKET) {
      this._dropped('malformed');
      throw statusError(ST_ESP_MALFORMED);
    }
    c.io.set(packet, 0);
    const r = c.x.esp_open(ctx, c.ioPtr, packet.length, c.paramPtr + RES_AT);
    if (r < 0) {
      const st = -r;
      if (st === ST_ESP_DUMMY) {
        this._dropped('dummy');
        return null;
      }
      const counter = STATUS[st]?.[2];
      if (counter !== undefined) this._dropped(counter);
      throw statusError(st);
    }
    const at = 8 + this.#kind.ivLength;
    const payload = out === undefined ? c.io.slice(at, at + r) : copyOut(c, at, r, check.output(out, r));
    this._sent(c, packet.length, 0);
    const res = (c.paramPtr + RES_AT) >>> 2;
    return { payload, nextHeader: c.u32[res]!, seq: c.u32[res + 2]! + c.u32[res + 3]! * 0x100000000 };
  }

  /** Last sequence number sent (outbound) or highest authenticated (inbound). */
  get seq(): number {
    return Number(wasm().x.esp_sa_seq(this.ctx));
  }

  /**
   * Sets the outbound counter: the next packet carries `seq + 1`. For tests of sequence exhaustion and
   * for carrying a counter over; never lower it on a live SA.
   */
  setOutboundSeq(seq: number): void {
    if (this.#kind.replayWindow) throw statusError(ST_ESP_DIRECTION);
    if (!Number.isSafeInteger(seq) || seq < 0) throw new Ipsec3gppError('INVALID_ARGUMENT', 'sequence number must be a non-negative safe integer');
    wasm().x.esp_sa_set_seq(this.ctx, BigInt(seq));
  }

  /**
   * Inbound: restarts the replay window with its right edge at `top`: every sequence number at or below it
   * is refused as already received, every number above accepted as usual. For an SA restored after a
   * restart (src/store/), whose window before the restart is not known: the conservative restart.
   */
  restartReplayWindow(top: number): void {
    if (!this.#kind.replayWindow) throw statusError(ST_ESP_DIRECTION);
    if (!Number.isSafeInteger(top) || top < 0 || (!this.#kind.esn && top > 0xffffffff)) throw new Ipsec3gppError('INVALID_ARGUMENT', 'top must be a sequence number');
    wasm().x.esp_sa_set_replay_top(this.ctx, BigInt(top));
  }

  /**
   * @internal Calls `fn` once, after the packet whose sequence number reaches `at` has been sealed (the
   * store's high-water mark, src/store/sa-store.ts); a new call replaces the watch, Infinity removes it.
   */
  _watchSeq(at: number, fn: ((seq: number) => void) | undefined): void {
    const x = (this.#x ??= newExtras());
    x.watchAt = fn === undefined ? Infinity : at;
    x.watch = fn;
  }

  /** Deletes the SA: its keys and state are zeroed in WASM memory. */
  delete(): void {
    this.destroy();
  }

  override toJSON(): { type: string; destroyed: boolean } & Record<string, unknown> {
    return { type: 'EspSa', destroyed: this.destroyed, spi: this.spi, direction: this.direction, alg: this.alg, ealg: this.ealg, stats: this.stats };
  }

  /** @internal the context address, for batch calls. */
  get _ctx(): number {
    return this.ctx;
  }

  /**
   * @internal Counts a packet just sealed at offset `at` of the I/O window (or opened: the watch and the
   * soft limit are an outbound SA's only) and raises the soft limit once. Without ESN the wire value is the whole
   * sequence number, read back from the header only when needed.
   */
  _sent(c: Core, bytes: number, at: number): void {
    this.#packets++;
    this.#bytes += bytes;
    const x = this.#x;
    if (x !== undefined && !this.#kind.replayWindow) this._watched(c, at, x); // outbound SAs only
  }

  /** @internal The store's watch and the soft limit, after a packet sealed (an SA with extras only). */
  _watched(c: Core, at: number, x: SaExtras): void {
    if (x.watchAt !== Infinity) {
      const seq = this.#kind.esn ? Number(c.x.esp_sa_seq(this.ctx)) : readBE32(c.io, at + 4);
      if (seq >= x.watchAt) {
        const fn = x.watch!;
        x.watchAt = Infinity;
        x.watch = undefined;
        fn(seq);
      }
    }
    if (!x.softLimitRaised && x.onSoftLimit !== undefined) {
      const seq = this.#kind.esn ? Number(c.x.esp_sa_seq(this.ctx)) : readBE32(c.io, at + 4);
      if (seq >= this.#kind.softLimit) {
        x.softLimitRaised = true;
        x.onSoftLimit(this);
      }
    }
  }

  /** @internal Counts an inbound packet refused (or a dummy dropped), by reason. */
  _dropped(reason: keyof Dropped): void {
    const x = (this.#x ??= newExtras());
    (x.dropped ??= noDrops())[reason]++;
  }

  /** @internal */
  _isCbc(): boolean {
    return this.#kind.cbc;
  }
}

/**
 * @internal EspSa's constructor for the SA database's entries (src/secagree/sadb.ts), which are EspSa
 * objects themselves, so that an SA of a set is one object. Users make SAs with EspSa.outbound / inbound.
 */
export const EspSaBase = EspSa as unknown as abstract new (o: EspSaOptions, outbound: boolean, shared: EspKeyContext) => EspSa;

function checkKeys(
  alg: AlgorithmSizes<IntegrityAlgorithm>, ealg: AlgorithmSizes<EncryptionAlgorithm>,
  encKey: Uint8Array, authKey: Uint8Array, salt: Uint8Array | undefined,
): void {
  check.bytes('encKey', encKey);
  check.bytes('authKey', authKey);
  keyLength('encKey', encKey, ealg, ealg.name === 'aes-cbc' || ealg.name === 'aes-gcm');
  keyLength('authKey', authKey, alg, alg.name === 'aes-gmac');
  const needSalt = ealg.saltLength + alg.saltLength;
  if (needSalt > 0) {
    if (salt === undefined) throw new Ipsec3gppError('KEY_LENGTH', `${ealg.name === 'aes-gcm' ? 'aes-gcm' : 'aes-gmac'} needs a 4-byte salt`);
    check.length('salt', salt, 'KEY_LENGTH', 4);
  }
}

/** Checks a key's length: 16, 24 or 32 bytes for AES (`aes`), the algorithm's key length otherwise. */
function keyLength(what: string, key: Uint8Array, a: AlgorithmSizes<string>, aes: boolean): void {
  const lengths = aes ? [16, 24, 32] : [a.keyLength];
  if (!lengths.includes(key.length)) throw new Ipsec3gppError('KEY_LENGTH', `${what} for ${a.name} must be ${lengths.join(' or ')} bytes, got ${key.length}`);
}

/** Copies `len` bytes of the I/O window from `at` into the caller's `out`; returns the filled part. */
function copyOut(c: Core, at: number, len: number, out: Uint8Array): Uint8Array {
  out.set(c.io.subarray(at, at + len), 0);
  return out.length === len ? out : out.subarray(0, len);
}

function readBE32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

// ---- Batch forms: many packets, one SA or many, in one WASM call per chunk ----

/** One packet to protect. */
export interface SealItem {
  /** The outbound SA to seal with. */
  sa: EspSa;
  /** The payload to protect. */
  payload: Uint8Array;
  /** Next Header of the payload (default 17, UDP). */
  nextHeader?: number;
}

/** One packet to process. */
export interface OpenItem {
  /** The inbound SA to open with. */
  sa: EspSa;
  /** The ESP packet (from the SPI on). */
  packet: Uint8Array;
}

/** Why sealBatch refuses an item before any WASM call (as a value), or undefined. */
function sealRefusal({ sa, payload, nextHeader }: SealItem): Ipsec3gppError | undefined {
  try {
    check.bytes('payload', payload);
    checkByte('nextHeader', nextHeader ?? 17);
    if (sa.direction !== 'outbound') return statusError(ST_ESP_DIRECTION);
    if (payload.length > sa.maxPayload) return new Ipsec3gppError('ESP_TOO_LARGE', `payload of ${payload.length} bytes exceeds ${sa.maxPayload}`);
  } catch (e) {
    return e as Ipsec3gppError;
  }
  return undefined;
}

/** Why openBatch refuses an item before any WASM call (as a value), or undefined. */
function openRefusal({ sa, packet }: OpenItem): Ipsec3gppError | undefined {
  try {
    check.bytes('packet', packet);
    if (sa.direction !== 'inbound') return statusError(ST_ESP_DIRECTION);
    if (packet.length > ESP_MAX_PACKET) return statusError(ST_ESP_MALFORMED);
  } catch (e) {
    return e as Ipsec3gppError;
  }
  return undefined;
}

/**
 * The batch calls with the split build's per-packet ESP module (`init({ algorithms })` without `batch`,
 * which has no batch code): the same refusals, then one seal or open per packet, whose errors become
 * values; a destroyed SA throws, as the one-call path does.
 */
function eachPacket<I extends { sa: EspSa }, R>(items: readonly I[], out: Array<R | Ipsec3gppError>, refusal: (item: I) => Ipsec3gppError | undefined, run: (item: I) => R): Array<R | Ipsec3gppError> {
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const refused = refusal(item);
    if (refused !== undefined) {
      out[i] = refused;
      continue;
    }
    void item.sa._ctx; // DESTROYED, thrown
    try {
      out[i] = run(item);
    } catch (e) {
      if (!(e instanceof Ipsec3gppError)) throw e;
      out[i] = e;
    }
  }
  return out;
}

/**
 * Protects many packets with as few WASM calls as the I/O window allows (packets of one SA keep their
 * order). Returns, per item, the packet or the error that item met (errors are values here, not thrown).
 *
 * The packets of one call are views into shared ArrayBuffers (one per up to 128 KiB of output, like
 * Node's Buffer pool): one allocation per chunk instead of one per packet, which was 10-15 % of a 600-byte
 * seal. Keeping one packet keeps its chunk alive, and transferring `packet.buffer` (postMessage) would
 * detach its neighbours: copy a packet (`packet.slice()`) to keep or transfer it alone.
 */
export function sealBatch(items: readonly SealItem[]): Array<Uint8Array | Ipsec3gppError> {
  const c = wasm();
  const out: Array<Uint8Array | Ipsec3gppError> = new Array(items.length);
  if (c.x.esp_seal_batch === undefined) return eachPacket(items, out, sealRefusal, (it) => it.sa.seal(it.payload, it.nextHeader ?? 17));
  const desc = c.x.batch_ptr!();
  let i = 0;
  while (i < items.length) {
    let n = 0;
    let used = 0;
    let ivBytes = 0;
    const first = i;
    for (; i < items.length && n < BATCH_MAX; i++) {
      const { sa, payload } = items[i]!;
      const nh = items[i]!.nextHeader ?? 17;
      const refused = sealRefusal(items[i]!);
      if (refused !== undefined) {
        out[i] = refused;
        continue;
      }
      const len = sa.packetLength(payload.length);
      const iv = sa._isCbc() ? sa.ivLength : 0;
      if (used + len > IO_BUFFER_SIZE || ivBytes + iv > IV_POOL_SIZE) break;
      const r = (desc >>> 2) + n * (BATCH_RECORD_SIZE >>> 2);
      c.u32[r] = sa._ctx;
      c.u32[r + 1] = used;
      c.u32[r + 2] = payload.length;
      c.u32[r + 3] = nh;
      c.io.set(payload, used + 8 + sa.ivLength);
      used += (len + 7) & ~7;
      ivBytes += iv;
      n++;
    }
    if (n === 0) continue;
    const pool = takeRandom(c, ivBytes);
    c.x.esp_seal_batch(desc, n, c.ioPtr, pool);
    const chunk = c.io.slice(0, used); // one allocation per call, not per packet (see the TSDoc)
    let k = 0;
    for (let j = first; j < i; j++) {
      if (out[j] !== undefined) continue;
      const r = (desc >>> 2) + k * (BATCH_RECORD_SIZE >>> 2);
      const off = c.u32[r + 1]!;
      const res = c.i32[r + 4]!;
      const sa = items[j]!.sa;
      if (res < 0) {
        out[j] = statusError(-res);
      } else {
        out[j] = chunk.subarray(off, off + res);
        sa._sent(c, res, off);
      }
      k++;
    }
  }
  return out;
}

/**
 * Processes many received packets in as few WASM calls as the I/O window allows. Returns, per item, the
 * accepted packet, null for a dummy packet, or the error (as a value). Each rejected packet leaves its SA
 * as it was. Payloads share ArrayBuffers per chunk, as {@link sealBatch}'s packets do.
 */
export function openBatch(items: readonly OpenItem[]): Array<EspPacket | null | Ipsec3gppError> {
  const c = wasm();
  const out: Array<EspPacket | null | Ipsec3gppError> = new Array(items.length);
  if (c.x.esp_open_batch === undefined) return eachPacket(items, out, openRefusal, (it) => it.sa.open(it.packet));
  const desc = c.x.batch_ptr!();
  let i = 0;
  while (i < items.length) {
    let n = 0;
    let used = 0;
    const first = i;
    for (; i < items.length && n < BATCH_MAX; i++) {
      const { sa, packet } = items[i]!;
      const refused = openRefusal(items[i]!);
      if (refused !== undefined) {
        out[i] = refused;
        continue;
      }
      if (used + packet.length > IO_BUFFER_SIZE) break;
      const r = (desc >>> 2) + n * (BATCH_RECORD_SIZE >>> 2);
      c.u32[r] = sa._ctx;
      c.u32[r + 1] = used;
      c.u32[r + 2] = packet.length;
      c.io.set(packet, used);
      used += (packet.length + 7) & ~7;
      n++;
    }
    if (n === 0) continue;
    c.x.esp_open_batch(desc, n, c.ioPtr, c.paramPtr + RES_AT);
    const chunk = c.io.slice(0, used);
    let k = 0;
    for (let j = first; j < i; j++) {
      if (out[j] !== undefined) continue;
      const r = (desc >>> 2) + k * (BATCH_RECORD_SIZE >>> 2);
      const off = c.u32[r + 1]!;
      const res = c.i32[r + 4]!;
      const sa = items[j]!.sa;
      if (res === -ST_ESP_DUMMY) {
        sa._dropped('dummy');
        out[j] = null;
      } else if (res < 0) {
        const counter = STATUS[-res]?.[2];
        if (counter !== undefined) sa._dropped(counter);
        out[j] = statusError(-res);
      } else {
        const at = off + 8 + sa.ivLength;
        sa._sent(c, c.u32[r + 2]!, off);
        out[j] = { payload: chunk.subarray(at, at + res), nextHeader: c.u32[r + 3]!, seq: c.u32[r + 6]! + c.u32[r + 7]! * 0x100000000 };
      }
      k++;
    }
  }
  return out;
}


