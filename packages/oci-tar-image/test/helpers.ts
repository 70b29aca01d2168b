import { expect } from 'vitest';
import type { Readable } from 'node:stream';
import { OciImageError, type OciImageErrorCode } from '../src/index.js';

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Awaits a promise that must reject with an OciImageError of `code`; returns the error. */
export async function expectCode(p: Promise<unknown> | (() => Promise<unknown>), code: OciImageErrorCode, ...mentions: string[]): Promise<OciImageError> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(OciImageError);
  const e = caught as OciImageError;
  expect(e.code, e.message).toBe(code);
  for (const m of mentions) expect(e.message).toContain(m);
  return e;
}

/** Host platform in the shape the fixtures write it. */
export function otherArch(): { os: string; architecture: string; variant?: string } {
  return process.arch === 'arm64' ? { os: 'linux', architecture: 'amd64' } : { os: 'linux', architecture: 'arm64', variant: 'v8' };
}
