// A UE (TS 24.229 5.1, TS 33.203 6-7): registers with IMS AKA and the ipsec-3gpp security agreement
// (secagree/ue.ts), then sends and receives SIP over its SAs: PUBLISH and SUBSCRIBE go out over SA1
// (port_uc -> port_ps), their answers come back over SA3; NOTIFY arrives over SA2 at port_us and is
// answered over SA4.
//
// Registration: SM1 unprotected with Security-Client; on the 401 the USIM checks AUTN (a MAC failure is
// reported with an empty response and no new SAs; a synchronisation failure with auts, then a new
// challenge); the temporary set is created from Security-Server; SM7 goes over SA1 of that set with
// Security-Verify; the 200 OK (over SA3) establishes it. Re-registration runs over the established set
// with a fresh Security-Client: a 200 keeps the set, a 401 builds a new one. De-registration deletes the
// set after its 200 OK.

import { akaAuthorization, initialAuthorization, parseAkaChallenge, type AkaChallenge } from '../aka/digest-aka.js';
import { type MilenageKeys } from '../aka/milenage.js';
import { Usim } from '../aka/usim.js';
import { type DatagramNetwork, type DatagramSocket } from '../net/datagram.js';
import { SaDatabase, type SaSet } from '../secagree/sadb.js';
import { UeSecAgree, type Combination, type UeRelease } from '../secagree/ue.js';
import { headerParam, type SipRequest, type SipResponse } from '../sip/message.js';
import { type TimerValues } from '../sip/transaction.js';
import { PIDF_CONTENT_TYPE } from './pidf.js';
import { ProtectedPort } from './protected-port.js';
import { SipNode, makeRequest, makeResponse, newBranch, newCallId, newTag, type Route, type Tracer } from './sip-node.js';

export interface UeClientOptions extends MilenageKeys {
  net: DatagramNetwork;
  /** The UE's IP address. */
  address: string;
  /** A label for the ladder (e.g. "UE alice"). */
  name?: string;
  impi: string;
  impu: string;
  /** Home network domain / realm (the REGISTER Request-URI is sip:<realm>). */
  realm: string;
  pcscf: { address: string; port: number };
  release?: UeRelease;
  algorithms?: Combination[];
  /** P-Access-Network-Info sent in REGISTER (e.g. "3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=..."). */
  accessNetworkInfo?: string;
  expires?: number;
  tracer?: Tracer;
  timers?: Partial<TimerValues>;
  names?: (address: string, port: number) => string;
  /** Fault injection, for test tools probing a network's error handling. */
  faults?: UeFaults;
}

/** Deliberate protocol errors a test UE can commit. */
export interface UeFaults {
  /** Answer the AKA challenge with a wrong RES (the network must answer 403). */
  wrongRes?: boolean;
  /** Rewrite the Security-Verify values of the protected REGISTER (a bidding-down attempt). */
  securityVerify?: (values: string[]) => string[];
  /** Headers added to every request (e.g. a forged P-Gm-Confidentiality the P-CSCF must strip). */
  extraHeaders?: Array<[string, string]>;
}

/** The outcome of a registration attempt. */
export interface RegistrationResult {
  status: number;
  reason: string;
  set?: SaSet;
  /** Why it failed, in words (Warning text, USIM verdict, security agreement error). */
  detail?: string;
}

export class UeClient {
  readonly name: string;
  readonly node: SipNode;
  readonly db: SaDatabase;
  readonly sec: UeSecAgree;
  readonly usim: Usim;
  readonly unprotected: DatagramSocket;
  readonly portS: ProtectedPort;
  /** Received presence documents (NOTIFY bodies), newest last. */
  readonly notifications: Array<{ from: string; body: string; state: string | undefined }> = [];
  onNotify: ((n: { from: string; body: string }) => void) | undefined;
  /** P-Access-Network-Info for the next REGISTER: change it when the UE moves to another access network. */
  accessNetworkInfo: string | undefined;
  readonly #o: UeClientOptions;
  readonly #clientPorts = new Map<number, ProtectedPort>();
  #nextClient: ProtectedPort | undefined;
  readonly #callId: string;
  readonly #tag = newTag();
  #cseq = 1;
  #auth: { challenge: AkaChallenge; res: Uint8Array; nc: number } | undefined;

  private constructor(o: UeClientOptions, un: DatagramSocket, us: DatagramSocket) {
    this.#o = o;
    this.accessNetworkInfo = o.accessNetworkInfo;
    this.name = o.name ?? `UE ${o.impu}`;
    this.unprotected = un;
    this.db = new SaDatabase({ role: 'ue' });
    this.portS = new ProtectedPort(us, this.db);
    const keys: MilenageKeys = { k: o.k };
    if (o.op) keys.op = o.op;
    if (o.opc) keys.opc = o.opc;
    this.usim = new Usim(keys);
    const secOpts: ConstructorParameters<typeof UeSecAgree>[0] = {
      db: this.db, key: o.impi, address: o.address, portS: us.port,
      allocatePort: () => {
        if (!this.#nextClient) throw new Error('no client port prepared');
        return this.#nextClient.port;
      },
    };
    if (o.release !== undefined) secOpts.release = o.release;
    if (o.algorithms !== undefined) secOpts.algorithms = o.algorithms;
    this.sec = new UeSecAgree(secOpts);
    this.node = new SipNode(this.name, { tracer: o.tracer, timers: o.timers, names: o.names });
    this.#callId = newCallId(o.address);
    un.onMessage((d) => this.node.receive(d.data, { kind: 'plain', socket: un, address: d.address, port: d.port }));
    this.#listen(this.portS);
    this.node.onRequest((i) => this.#incoming(i.request, i.respond));
  }

  static async start(o: UeClientOptions): Promise<UeClient> {
    return new UeClient(o, await o.net.bind(o.address, 0), await o.net.bind(o.address, 0));
  }

  #listen(p: ProtectedPort): void {
    p.onSip((sip, sa) => {
      const answer = sa.set.sas.find((s) => s.direction === 'outbound' && s.srcPort === sa.dstPort && s.dstPort === sa.srcPort)!;
      this.node.receive(sip, { kind: 'protected', port: p, sa: answer });
    });
  }

  /** Binds the next protected client port (port_uc) before an offer is made. */
  async #prepareClientPort(): Promise<void> {
    if (this.#nextClient) return;
    const p = new ProtectedPort(await this.#o.net.bind(this.#o.address, 0), this.db);
    this.#listen(p);
    this.#clientPorts.set(p.port, p);
    this.#nextClient = p;
  }

  #consumeClientPort(): void {
    this.#nextClient = undefined;
  }

  #dropUnusedClientPort(): void {
    const p = this.#nextClient;
    if (p) {
      this.#clientPorts.delete(p.port);
      p.close();
      this.#nextClient = undefined;
    }
  }

  get current(): SaSet | undefined {
    return this.sec.current;
  }

  /**
   * The UE's protected port with this number (port_us, or a port_uc of a live set), e.g. for a test tool
   * that sends raw datagrams from it.
   */
  protectedPort(port: number): ProtectedPort | undefined {
    return port === this.portS.port ? this.portS : this.#clientPorts.get(port);
  }

  #contact(expires: number): string {
    const user = this.#o.impu.replace(/^sips?:/, '').split('@')[0];
    return `<sip:${user}@${this.#o.address}:${this.portS.port}>;expires=${expires}`;
  }

  #register(o: { via: DatagramSocket; expires: number; securityClient?: string | undefined; securityVerify?: string[] | undefined; authorization: string }): SipRequest {
    const headers: Array<[string, string]> = [
      ['Contact', this.#contact(o.expires)],
      ['Authorization', o.authorization],
      ['Require', 'sec-agree'],
      ['Proxy-Require', 'sec-agree'],
      ['Supported', 'path, sec-agree'],
    ];
    if (o.securityClient) headers.push(['Security-Client', o.securityClient]);
    for (const v of o.securityVerify ?? []) headers.push(['Security-Verify', v]);
    if (this.accessNetworkInfo) headers.push(['P-Access-Network-Info', this.accessNetworkInfo]);
    headers.push(...(this.#o.faults?.extraHeaders ?? []));
    headers.push(['Expires', String(o.expires)]);
    return makeRequest({
      method: 'REGISTER', uri: `sip:${this.#o.realm}`,
      from: `<${this.#o.impu}>;tag=${this.#tag}`, to: `<${this.#o.impu}>`,
      callId: this.#callId, cseq: this.#cseq++,
      via: `SIP/2.0/UDP ${o.via.address}:${o.via.port};branch=${newBranch()}`,
      headers,
    });
  }

  #plainToPcscf(): Route {
    return { kind: 'plain', socket: this.unprotected, address: this.#o.pcscf.address, port: this.#o.pcscf.port };
  }

  /** SA1 of `set`: from port_uc to port_ps. */
  #sa1(set: SaSet): Route {
    const sa = set.sa('SA1');
    return { kind: 'protected', port: this.#clientPorts.get(sa.srcPort)!, sa };
  }

  #authorization(c: AkaChallenge, res: Uint8Array, nc: number): string {
    return akaAuthorization({ username: this.#o.impi, uri: `sip:${this.#o.realm}`, method: 'REGISTER', challenge: c, outcome: { res }, nc });
  }

  /**
   * The initial registration (SM1 ... SM12). Resolves with the final status; never throws for protocol
   * outcomes (403, abandon, MAC failure): they come back as a result with a reason.
   */
  async register(): Promise<RegistrationResult> {
    await this.#prepareClientPort();
    const expires = this.#o.expires ?? 600;
    let offer = this.sec.offer();
    let authorization = initialAuthorization({ username: this.#o.impi, realm: this.#o.realm, uri: `sip:${this.#o.realm}` });
    for (let round = 0; round < 3; round++) {
      const res = await this.node.request(this.#register({ via: this.unprotected, expires, securityClient: offer.securityClient, authorization }), this.#plainToPcscf());
      if (res.status !== 401) {
        this.sec.failed();
        return { status: res.status, reason: res.reason, detail: res.headers.get('warning') ?? res.reason };
      }
      const step = await this.#answerChallenge(res, () => this.#plainToPcscf(), this.unprotected, expires, offer.securityClient);
      if (step.kind === 'done') return step.result;
      if (step.kind === 'retry') {
        await this.#prepareClientPort();
        offer = this.sec.offer();
        authorization = step.authorization;
      }
    }
    return { status: 0, reason: 'registration abandoned', detail: 'too many challenges' };
  }

  /** Handles a 401: USIM, security agreement, and the protected REGISTER over the new temporary set. */
  async #answerChallenge(res: SipResponse, plainRoute: () => Route, via: DatagramSocket, expires: number, securityClient: string): Promise<{ kind: 'done'; result: RegistrationResult } | { kind: 'retry'; authorization: string }> {
    const challenge = parseAkaChallenge(res.headers.get('www-authenticate') ?? '');
    const r = this.usim.authenticate(challenge.rand, challenge.autn);
    if (r.result === 'mac-failure') {
      // TS 24.229 5.1.1.5.3: an empty response, no auts, a new Security-Client, no temporary SAs.
      this.sec.failed();
      await this.#prepareClientPort();
      const offer = this.sec.offer();
      const a = akaAuthorization({ username: this.#o.impi, uri: `sip:${this.#o.realm}`, method: 'REGISTER', challenge, outcome: 'mac-failure' });
      const answer = await this.node.request(this.#register({ via, expires, securityClient: offer.securityClient, authorization: a }), plainRoute());
      this.sec.failed();
      this.#dropUnusedClientPort();
      return { kind: 'done', result: { status: answer.status, reason: answer.reason, detail: 'the USIM could not authenticate the network (MAC failure)' } };
    }
    if (r.result === 'sync-failure') {
      this.sec.failed();
      const a = akaAuthorization({ username: this.#o.impi, uri: `sip:${this.#o.realm}`, method: 'REGISTER', challenge, outcome: { auts: r.auts } });
      return { kind: 'retry', authorization: a };
    }
    let set: SaSet;
    let securityVerify: string[];
    try {
      const c = this.sec.challenge({ securityServer: res.headers.getAll('security-server'), ck: r.ck, ik: r.ik, pcscfAddress: this.#o.pcscf.address });
      set = c.set;
      securityVerify = c.securityVerify;
    } catch (e) {
      this.#dropUnusedClientPort();
      return { kind: 'done', result: { status: 0, reason: 'registration abandoned', detail: (e as Error).message } };
    }
    this.#consumeClientPort();
    const answerRes = this.#o.faults?.wrongRes ? r.res.map((b, i) => (i === 0 ? b ^ 1 : b)) : r.res;
    const authorization = this.#authorization(challenge, answerRes, 1);
    const verify = this.#o.faults?.securityVerify ? this.#o.faults.securityVerify(securityVerify) : securityVerify;
    const sm7 = this.#register({ via: this.#clientPorts.get(set.ue.portC)!.socket, expires, securityClient, securityVerify: verify, authorization });
    let final: SipResponse;
    try {
      final = await this.node.request(sm7, this.#sa1(set));
    } catch (e) {
      this.sec.failed();
      return { kind: 'done', result: { status: 408, reason: 'Request Timeout', detail: `no answer to the protected REGISTER (${(e as Error).message})` } };
    }
    if (final.status >= 200 && final.status < 300) {
      const granted = Number(headerParam(final.headers.get('contact') ?? '', 'expires') ?? expires);
      const established = this.sec.registered(granted);
      this.db.peerUsed(established); // the 200 OK came over the new set
      this.#auth = { challenge, res: r.res, nc: 1 };
      return { kind: 'done', result: { status: final.status, reason: final.reason, set: established } };
    }
    this.sec.failed();
    return { kind: 'done', result: { status: final.status, reason: final.reason, detail: final.headers.get('warning') ?? final.reason } };
  }

  /** Re-registration over the established set (a 200 keeps it; a 401 builds a new set). */
  async reRegister(): Promise<RegistrationResult> {
    const set = this.sec.current;
    if (!set || !this.#auth) throw new Error('not registered');
    await this.#prepareClientPort();
    const expires = this.#o.expires ?? 600;
    const offer = this.sec.offer();
    const res = await this.#registerOverSet(set, expires, offer.securityClient);
    if (res.status >= 200 && res.status < 300) {
      this.sec.registeredWithoutChallenge(Number(headerParam(res.headers.get('contact') ?? '', 'expires') ?? expires));
      this.#dropUnusedClientPort();
      return { status: res.status, reason: res.reason, set };
    }
    if (res.status !== 401) {
      this.sec.failed();
      this.#dropUnusedClientPort();
      return { status: res.status, reason: res.reason, detail: res.headers.get('warning') ?? res.reason };
    }
    const step = await this.#answerChallenge(res, () => this.#sa1(set), this.#clientPorts.get(set.ue.portC)!.socket, expires, offer.securityClient);
    return step.kind === 'done' ? step.result : { status: 0, reason: 'resynchronisation during re-registration is not supported' };
  }

  /** De-registration (Expires: 0) over the established set; the set is deleted after its 200 OK. */
  async deregister(): Promise<RegistrationResult> {
    const set = this.sec.current;
    if (!set || !this.#auth) throw new Error('not registered');
    let res: SipResponse;
    try {
      res = await this.#registerOverSet(set, 0);
    } finally {
      this.db.deleteWhenIdle(set);
    }
    return { status: res.status, reason: res.reason };
  }

  /** A REGISTER over SA1 of the established set (re- or de-registration), counted as a transaction on it. */
  async #registerOverSet(set: SaSet, expires: number, securityClient?: string): Promise<SipResponse> {
    const auth = this.#auth!;
    auth.nc++;
    const req = this.#register({ via: this.#clientPorts.get(set.ue.portC)!.socket, expires, securityClient, securityVerify: this.sec.securityVerify(), authorization: this.#authorization(auth.challenge, auth.res, auth.nc) });
    this.db.beginTransaction(set);
    try {
      return await this.node.request(req, this.#sa1(set));
    } finally {
      this.db.endTransaction(set);
    }
  }

  #protectedRequest(method: string, uri: string, to: string, headers: Array<[string, string]>, body?: { type: string; data: string }): Promise<SipResponse> {
    const set = this.sec.current;
    if (!set) return Promise.reject(new Error('not registered'));
    const req = makeRequest({
      method, uri, from: `<${this.#o.impu}>;tag=${newTag()}`, to: `<${to}>`,
      callId: newCallId(this.#o.address), cseq: 1,
      via: `SIP/2.0/UDP ${this.#o.address}:${set.ue.portC};branch=${newBranch()}`,
      headers: [...headers, ['Security-Verify', this.sec.securityVerify().join(', ')], ['Require', 'sec-agree'], ['Proxy-Require', 'sec-agree'], ...(this.#o.faults?.extraHeaders ?? [])],
      ...(body ? { body } : {}),
    });
    return this.node.request(req, this.#sa1(set));
  }

  /** PUBLISH a presence document (RFC 3903) for this UE's IMPU. */
  publish(pidf: string, expires = 3600): Promise<SipResponse> {
    return this.#protectedRequest('PUBLISH', this.#o.impu, this.#o.impu, [['Event', 'presence'], ['Expires', String(expires)]], { type: PIDF_CONTENT_TYPE, data: pidf });
  }

  /** SUBSCRIBE to a presentity's presence (RFC 3856). */
  subscribe(presentity: string, expires = 600): Promise<SipResponse> {
    return this.#protectedRequest('SUBSCRIBE', presentity, presentity, [
      ['Event', 'presence'], ['Accept', PIDF_CONTENT_TYPE], ['Expires', String(expires)],
      ['Contact', `<sip:${this.#o.impu.replace(/^sips?:/, '').split('@')[0]}@${this.#o.address}:${this.portS.port}>`],
    ]);
  }

  #incoming(req: SipRequest, respond: (r: SipResponse) => void): void {
    if (req.method === 'NOTIFY') {
      const body = new TextDecoder().decode(req.body);
      const n = { from: req.headers.get('from') ?? '', body, state: req.headers.get('subscription-state') };
      this.notifications.push(n);
      respond(makeResponse(req, 200, 'OK'));
      this.onNotify?.(n);
      return;
    }
    respond(makeResponse(req, 405, 'Method Not Allowed'));
  }

  close(): void {
    this.node.close();
    this.db.clear();
    this.usim.destroy();
    // RES, kept for the digest responses of re-registrations.
    this.#auth?.res.fill(0);
    this.#auth = undefined;
    this.unprotected.close();
    this.portS.close();
    for (const p of this.#clientPorts.values()) p.close();
  }
}
