// Credentials as podman, skopeo and docker store them: $REGISTRY_AUTH_FILE,
// $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json; `auths` entries, `credHelpers`
// and `credsStore` (run as `docker-credential-<name> get`, argv only, the host on stdin).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RegistryError } from './errors.js';

export interface Credentials {
  username: string;
  password: string;
}

/** Where credentials are looked for, first match wins. */
export function defaultAuthFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  const home = env.HOME || homedir();
  files.push(join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json'));
  return files;
}

/** Docker Hub is stored under its v1 index URL by `docker login`. */
function keysFor(registry: string, repository: string): string[] {
  const keys: string[] = [];
  // containers-auth.json allows per-namespace entries: most specific first.
  const parts = repository.split('/');
  for (let i = parts.length; i >= 1; i--) keys.push(`${registry}/${parts.slice(0, i).join('/')}`);
  keys.push(registry);
  if (registry === 'docker.io') keys.push('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io');
  return keys;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Entries of `auths` may be written with a scheme and path (`https://host/v1/`). */
function normaliseKey(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

function fromAuthsEntry(entry: unknown, file: string, key: string): Credentials | undefined {
  if (!isObj(entry)) return undefined;
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new RegistryError('CREDENTIALS_ERROR', `${file}: the auth entry for ${key} is not base64 of user:password`, { subject: key });
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  return undefined;
}

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Runs `docker-credential-<helper> get` with the server name on stdin (no shell). */
export function runCredentialHelper(helper: string, server: string, timeoutMs = 30_000): Promise<Credentials | undefined> {
  if (!HELPER_NAME.test(helper)) {
    return Promise.reject(new RegistryError('CREDENTIALS_ERROR', `invalid credential helper name ${JSON.stringify(helper)}`, { subject: helper }));
  }
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new RegistryError('CREDENTIALS_ERROR', `cannot run ${program}: ${e.message}`, { subject: server, cause: e })));
    child.on('close', (status) => {
      const stdout = Buffer.concat(out).toString('utf8').trim();
      if (status !== 0) {
        // The helpers' protocol: "credentials not found in native keychain" means no entry.
        if (/credentials not found/i.test(stdout) || /credentials not found/i.test(Buffer.concat(err).toString('utf8'))) {
          resolve(undefined);
          return;
        }
        reject(new RegistryError('CREDENTIALS_ERROR', `${program} get for ${server} failed (exit ${status}): ${(stdout || Buffer.concat(err).toString('utf8')).slice(0, 300)}`, { subject: server }));
        return;
      }
      try {
        const v = JSON.parse(stdout) as unknown;
        if (!isObj(v) || typeof v.Username !== 'string' || typeof v.Secret !== 'string') throw new Error('expected {"Username", "Secret"}');
        resolve({ username: v.Username, password: v.Secret });
      } catch (e) {
        reject(new RegistryError('CREDENTIALS_ERROR', `${program} get for ${server} printed no credentials: ${e instanceof Error ? e.message : String(e)}`, { subject: server }));
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(server);
  });
}

/** Credentials from one auth file, or undefined when it has none for this registry. */
async function fromFile(file: string, registry: string, repository: string): Promise<Credentials | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new RegistryError('CREDENTIALS_ERROR', `${file}: cannot read (${code ?? String(err)})`, { subject: file, cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new RegistryError('CREDENTIALS_ERROR', `${file}: not valid JSON`, { subject: file, cause: err });
  }
  if (!isObj(doc)) return undefined;
  const keys = keysFor(registry, repository);
  if (isObj(doc.credHelpers)) {
    for (const k of keys) {
      const helper = doc.credHelpers[k];
      if (typeof helper === 'string' && helper !== '') return runCredentialHelper(helper, k === 'https://index.docker.io/v1/' ? k : k.split('/')[0]!);
    }
  }
  if (isObj(doc.auths)) {
    const byKey = new Map<string, unknown>();
    for (const [k, v] of Object.entries(doc.auths)) byKey.set(normaliseKey(k), v);
    for (const k of keys) {
      const c = fromAuthsEntry(byKey.get(normaliseKey(k)), file, k);
      if (c) return c;
    }
  }
  if (typeof doc.credsStore === 'string' && doc.credsStore !== '') {
    return runCredentialHelper(doc.credsStore, registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry);
  }
  return undefined;
}

/** Credentials for `registry`/`repository` from the first auth file that has some. */
export async function lookupCredentials(registry: string, repository: string, files: readonly string[] = defaultAuthFiles()): Promise<Credentials | undefined> {
  for (const f of files) {
    const c = await fromFile(f, registry, repository);
    if (c) return c;
  }
  return undefined;
}
