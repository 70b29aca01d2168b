// Test servers on loopback: Debian's docker-registry (Distribution 2.8) on a free port with a temp
// storage dir, optionally behind htpasswd Basic auth or token auth (a token server of ours signing
// JWTs with a throwaway key), images pushed into it with skopeo.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, createSign, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

const run = promisify(execFile);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export interface Users {
  [user: string]: string;
}

export type RegistryAuth = { kind: 'none' } | { kind: 'htpasswd'; users: Users } | { kind: 'token'; users: Users; anonymousPull?: (repo: string) => boolean };

export interface TestRegistry {
  host: string;
  port: number;
  dir: string;
  auth: RegistryAuth;
  /** Requests the token server answered, with their Authorization header. */
  tokenRequests: { url: string; authorization: string | undefined; status: number }[];
  stop(): Promise<void>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A token server as Docker Hub's auth service works: Basic (or anonymous) in, a signed JWT out. */
function tokenServer(keyPem: string, certDer: Buffer, users: Users, anonymousPull: (repo: string) => boolean, log: TestRegistry['tokenRequests']): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const authz = req.headers.authorization;
    let user: string | undefined;
    if (authz !== undefined) {
      const m = /^Basic (.+)$/.exec(authz);
      const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      const name = decoded.slice(0, colon);
      if (colon < 0 || users[name] === undefined || users[name] !== decoded.slice(colon + 1)) {
        log.push({ url: req.url ?? '', authorization: authz, status: 401 });
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      user = name;
    }
    log.push({ url: req.url ?? '', authorization: authz, status: 200 });
    const access = url.searchParams.getAll('scope').flatMap((scope) => {
      const [type, name, actions] = scope.split(':') as [string, string, string];
      if (type !== 'repository') return [];
      const wanted = (actions ?? '').split(',');
      const granted = user !== undefined ? wanted : anonymousPull(name) ? wanted.filter((a) => a === 'pull') : [];
      return [{ type, name, actions: granted }];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: 'oci2lxc-test-issuer', sub: user ?? '', aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(input).sign(keyPem);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${input}.${b64url(sig)}`, expires_in: 300 }));
  });
}

/** Status of GET /v2/ over HTTPS, trusting only `ca` (readiness probe of a TLS registry). */
function httpsStatus(port: number, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsGet({ host: '127.0.0.1', port, path: '/v2/', ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

async function waitReady(port: number, child: ChildProcess, log: () => string, tls: RegistryTls | undefined): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) return false;
    try {
      let status: number;
      if (tls) status = await httpsStatus(port, readFileSync(tls.caFile, 'utf8'));
      else {
        const res = await fetch(`http://127.0.0.1:${port}/v2/`);
        await res.arrayBuffer();
        status = res.status;
      }
      if (status === 200 || status === 401) return true;
    } catch {
      // not yet listening
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not start: ${log()}`);
}

/** A server certificate for 127.0.0.1 and the CA that signed it (PEM files). */
export interface RegistryTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it, made by openssl in `dir`. */
export function makeTestCa(dir: string): RegistryTls {
  const p = (n: string): string => join(dir, n);
  const ssl = (args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=oci2lxc test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(p('server.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'), '-days', '2', '-extfile', p('server.ext')]);
  return { caFile: p('ca.pem'), certFile: p('server.pem'), keyFile: p('server.key') };
}

export async function startRegistry(auth: RegistryAuth = { kind: 'none' }, opts: { tls?: RegistryTls } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'oci2lxc-registry-'));
  const tokenRequests: TestRegistry['tokenRequests'] = [];
  let token: Server | undefined;
  let authYaml = '';
  if (auth.kind === 'htpasswd') {
    const lines = Object.entries(auth.users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 4)}`);
    writeFileSync(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: oci2lxc-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth.kind === 'token') {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=oci2lxc-test-token'], {
      stdio: 'ignore',
    });
    const certPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const der = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    token = tokenServer(readFileSync(join(dir, 'key.pem'), 'utf8'), der, auth.users, auth.anonymousPull ?? (() => false), tokenRequests);
    const tokenPort = await listen(token);
    authYaml = `auth:\n  token:\n    realm: http://127.0.0.1:${tokenPort}/token\n    service: oci2lxc-test-registry\n    issuer: oci2lxc-test-issuer\n    rootcertbundle: ${join(dir, 'cert.pem')}\n`;
  }
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${opts.tls ? `  tls:\n    certificate: ${opts.tls.certFile}\n    key: ${opts.tls.keyFile}\n` : ''}${authYaml}`;
    writeFileSync(join(dir, 'config.yml'), config);
    const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    if (await waitReady(port, child, () => stderr, opts.tls)) {
      return {
        host: `127.0.0.1:${port}`,
        port,
        dir,
        auth,
        tokenRequests,
        async stop() {
          child.kill('SIGTERM');
          if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
          if (token) await closeServer(token);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (attempt >= 4) throw new Error(`docker-registry would not start: ${stderr}`);
  }
}

/**
 * `skopeo copy` of an archive into the registry (all images of an index with `all`). Async: the
 * token server runs in this process and must keep answering while skopeo pushes.
 */
export async function push(reg: TestRegistry, source: string, repoTag: string, opts: { all?: boolean; creds?: string } = {}): Promise<void> {
  await run(
    'skopeo',
    ['copy', '--quiet', '--dest-tls-verify=false', ...(opts.all ? ['--all'] : []), ...(opts.creds ? ['--dest-creds', opts.creds] : []), source, `docker://${reg.host}/${repoTag}`],
    { timeout: 60_000 },
  );
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
