// Errors of the image source keep their code through extraction; they are recognised by the
// registered symbol their classes carry (any copy of the source package), never by name.
import { describe, expect, it } from 'vitest';
import { OciImageError } from '@oci2lxc/oci-tar-image';
import { isSourceError } from '../src/source-error.js';
import { ExtractError, isExtractError } from '../src/index.js';

describe('isSourceError', () => {
  it('an OciImageError is a source error', () => {
    expect(isSourceError(new OciImageError('DIGEST_MISMATCH', 'x'))).toBe(true);
  });

  it("a RegistryError is recognised by oci-registry's registered symbol (another package's class)", () => {
    class RegistryError extends Error {
      readonly code = 'NETWORK_ERROR';
    }
    Object.defineProperty(RegistryError.prototype, Symbol.for('@oci2lxc/oci-registry.RegistryError'), { value: true });
    expect(isSourceError(new RegistryError('reset'))).toBe(true);
  });

  it('an error merely named like one is not', () => {
    const impostor = Object.assign(new Error('x'), { code: 'DIGEST_MISMATCH' });
    impostor.name = 'OciImageError';
    expect(isSourceError(impostor)).toBe(false);
    expect(isSourceError(Object.assign(new Error('x'), { name: 'RegistryError', code: 'NOT_FOUND' }))).toBe(false);
    expect(isSourceError(new ExtractError('IO_ERROR', 'x'))).toBe(false);
  });
});

describe('isExtractError', () => {
  it('recognises ExtractError, and an ExtractError of another copy of this package by its symbol', () => {
    expect(isExtractError(new ExtractError('IO_ERROR', 'x'))).toBe(true);
    class OtherCopy extends Error {}
    Object.defineProperty(OtherCopy.prototype, Symbol.for('@oci2lxc/oci-extract.ExtractError'), { value: true });
    expect(isExtractError(new OtherCopy('x'))).toBe(true);
    expect(isExtractError(Object.assign(new Error('x'), { name: 'ExtractError', code: 'IO_ERROR' }))).toBe(false);
    expect(isExtractError('IO_ERROR')).toBe(false);
  });
});
