// A faulty reverse proxy of our own on loopback, in front of the test registry: per request it
// can drop the connection mid-body, answer 500 or 429, corrupt a byte, truncate the body, or
// redirect (307) to a second loopback server (a "CDN") that records what it was sent.
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { closeServer, listen } from './registry.js';

export type Fault = 'drop' | '500' | '429' | 'corrupt' | 'truncate' | 'redirect' | 'rewrite';

export interface ProxyRequest {
  method: string;
  url: string;
  range: string | undefined;
  authorization: string | undefined;
  accept?: string | undefined;
  /** When the request arrived and when its response was finished (ms since the epoch). */
  at?: number;
  done?: number;
  /** What the proxy did. */
  fault: Fault | undefined;
}

export interface FaultyProxy {
  host: string;
  /** Decides the fault for a request (n: how many requests for this URL came before). */
  plan: (req: { method: string; url: string; n: number }) => Fault | undefined;
  retryAfter: string;
  /** For 'rewrite': the body and headers to send instead of the registry's. */
  rewrite: (body: Buffer, headers: IncomingHttpHeaders) => { body: Buffer; headers: IncomingHttpHeaders };
  log: ProxyRequest[];
  /** Requests the redirect target received. */
  cdnLog: { url: string; authorization: string | undefined }[];
  /** Forgets the plan, the logs and the per-URL counts. */
  reset(): void;
  stop(): Promise<void>;
}

function forwardHeaders(h: IncomingHttpHeaders, upstream: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && k !== 'host' && k !== 'connection') out[k] = v;
  out.host = upstream;
  return out;
}

/** `upstream`: `127.0.0.1:PORT` of the registry; `cdnAuth`: the header the CDN uses upstream. */
export async function startProxy(upstream: string, cdnAuth?: string): Promise<FaultyProxy> {
  const [uhost, uport] = upstream.split(':') as [string, string];
  const counts = new Map<string, number>();
  const cdnLog: FaultyProxy['cdnLog'] = [];
  // The redirect target: serves the blob from the registry with its own credentials.
  const cdn = createServer((req, res) => {
    cdnLog.push({ url: req.url ?? '', authorization: req.headers.authorization });
    const path = new URL(req.url ?? '/', 'http://x').searchParams.get('path') ?? '/';
    const headers: Record<string, string> = { host: upstream };
    if (cdnAuth) headers.authorization = cdnAuth;
    if (req.headers.range) headers.range = req.headers.range;
    const up = request({ host: uhost, port: Number(uport), path, method: req.method, headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    up.end();
  });
  const cdnPort = await listen(cdn);
  const proxy: FaultyProxy = {
    host: '',
    plan: () => undefined,
    retryAfter: '1',
    rewrite: (body, headers) => ({ body, headers }),
    log: [],
    cdnLog,
    reset: () => {
      proxy.plan = () => undefined;
      proxy.rewrite = (body, headers) => ({ body, headers });
      proxy.log.length = 0;
      cdnLog.length = 0;
      counts.clear();
    },
    stop: async () => {
      await closeServer(server);
      await closeServer(cdn);
    },
  };
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const n = counts.get(url) ?? 0;
    counts.set(url, n + 1);
    const fault = proxy.plan({ method: req.method ?? 'GET', url, n });
    const entry: ProxyRequest = { method: req.method ?? 'GET', url, range: req.headers.range, authorization: req.headers.authorization, accept: req.headers.accept, fault, at: Date.now() };
    proxy.log.push(entry);
    res.on('close', () => (entry.done = Date.now()));
    if (fault === '500') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('injected failure');
      return;
    }
    if (fault === '429') {
      res.writeHead(429, { 'retry-after': proxy.retryAfter, 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' }).end();
      return;
    }
    if (fault === 'redirect') {
      res.writeHead(307, { location: `http://127.0.0.1:${cdnPort}/blob?path=${encodeURIComponent(url)}` }).end();
      return;
    }
    const up = request({ host: uhost, port: Number(uport), path: url, method: req.method, headers: forwardHeaders(req.headers, upstream) }, (ur) => {
      const status = ur.statusCode ?? 502;
      if (fault === undefined || status >= 300) {
        res.writeHead(status, ur.headers);
        ur.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      ur.on('data', (c: Buffer) => chunks.push(c));
      ur.on('end', () => {
        const body = Buffer.concat(chunks);
        const half = Math.floor(body.length / 2);
        const headers = { ...ur.headers };
        if (fault === 'rewrite') {
          const r = proxy.rewrite(body, headers);
          const out = Object.fromEntries(Object.entries({ ...r.headers, 'content-length': String(r.body.length) }).filter(([, v]) => v !== undefined)) as IncomingHttpHeaders;
          res.writeHead(status, out).end(r.body);
        } else if (fault === 'corrupt') {
          body[half] = body[half]! ^ 0xff;
          res.writeHead(status, headers).end(body);
        } else if (fault === 'truncate') {
          headers['content-length'] = String(half);
          res.writeHead(status, headers).end(body.subarray(0, half));
        } else {
          // drop: the promised length, half the bytes, then the connection goes away
          res.writeHead(status, headers);
          res.write(body.subarray(0, half), () => setTimeout(() => res.socket?.destroy(), 20));
        }
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  // As a forward proxy (HTTPS_PROXY/HTTP_PROXY): CONNECT tunnels, to loopback only.
  server.on('connect', (req, socket: Socket, head: Buffer) => {
    const target = req.url ?? '';
    proxy.log.push({ method: 'CONNECT', url: target, range: undefined, authorization: req.headers.authorization, fault: undefined });
    const m = /^127\.0\.0\.1:(\d+)$/.exec(target);
    if (!m) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const up = connect(Number(m[1]), '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  const port = await listen(server);
  proxy.host = `127.0.0.1:${port}`;
  return proxy;
}
