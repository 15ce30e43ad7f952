// The HTTP side of the browser demo and of the browser tests: serves HTML pages under a strict
// Content-Security-Policy, the page scripts (TypeScript bundled by esbuild at start, with the library left
// external so the browser loads the published `dist/` through an import map, as an application would), and
// static folders. The CSP allows WebAssembly compilation with 'wasm-unsafe-eval' and nothing else that is
// not from this origin (the import map is admitted by its hash).

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { build } from 'esbuild';

export interface HttpOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** URL path -> HTML file. */
  pages: Record<string, string>;
  /** URL path (e.g. "/app.js") -> TypeScript entry point, bundled once at start. */
  bundles: Record<string, string>;
  /**
   * URL path -> entry point bundled with the library inside, for module Workers (import maps do not reach
   * a worker: a worker's bare 'ipsec-3gpp' must be resolved by the bundler, as an application's would be).
   */
  workerBundles?: Record<string, string>;
  /** URL prefix (e.g. "/dist/") -> folder. */
  folders: Record<string, string>;
}

export interface HttpServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.json': 'application/json',
  '.css': 'text/css; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml', '.map': 'application/json',
  '.wasm': 'application/wasm',
};

/** The CSP a page is served with: `wasm` false drops 'wasm-unsafe-eval' (to show that init() then fails). */
export function contentSecurityPolicy(html: string, wasm = true): string {
  const hashes = [...html.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)]
    .map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  return [
    "default-src 'none'",
    `script-src 'self' ${wasm ? "'wasm-unsafe-eval' " : ''}${hashes.join(' ')}`,
    "connect-src 'self'", "style-src 'self'", "img-src 'self' data:", "base-uri 'none'", "form-action 'none'",
  ].join('; ');
}

/** The URL of a request line (path and query), or undefined when it does not parse (e.g. "//", "//["). */
export function requestUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

export async function startHttp(o: HttpOptions): Promise<HttpServer> {
  const bundles = new Map<string, string>();
  for (const [path, entry] of Object.entries(o.bundles)) {
    const r = await build({
      entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false,
      external: ['ipsec-3gpp', 'ipsec-3gpp/*'], logLevel: 'silent',
    });
    bundles.set(path, r.outputFiles[0]!.text);
  }
  for (const [path, entry] of Object.entries(o.workerBundles ?? {})) {
    const r = await build({
      entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false,
      external: ['node:*'], logLevel: 'silent', // the worker's Node branch stays an import that never runs here
    });
    bundles.set(path, r.outputFiles[0]!.text);
  }
  const server = createServer((req, res) => {
    const send = (status: number, type: string, body: string | Uint8Array, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
      res.end(body);
    };
    const url = requestUrl(req.url);
    if (url === undefined) { send(400, 'text/plain', 'bad request target'); return; }
    const page = o.pages[url.pathname];
    if (page) {
      const html = readFileSync(page, 'utf8');
      send(200, TYPES['.html']!, html, { 'content-security-policy': contentSecurityPolicy(html, url.searchParams.get('csp') !== 'no-wasm') });
      return;
    }
    const bundle = bundles.get(url.pathname);
    if (bundle !== undefined) { send(200, TYPES['.js']!, bundle); return; }
    for (const [prefix, dir] of Object.entries(o.folders)) {
      if (!url.pathname.startsWith(prefix)) continue;
      const root = resolve(dir);
      try {
        const file = resolve(root, decodeURIComponent(url.pathname.slice(prefix.length))); // URIError on a bad escape
        if (!file.startsWith(root + sep)) break;
        if (!statSync(file).isFile()) break;
        send(200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
      } catch { break; }
      return;
    }
    send(404, 'text/plain', 'not found');
  });
  await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(o.port, o.host ?? '127.0.0.1', () => ok()); });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    server,
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
