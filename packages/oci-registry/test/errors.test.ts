// oci-extract (which cannot depend on this package) keeps a RegistryError's code by the registered
// symbol on its prototype: that key is a contract between the two packages.
import { describe, expect, it } from 'vitest';
import { RegistryError, isRegistryError, registryCause } from '../src/index.js';

describe('RegistryError across copies', () => {
  it("carries the symbol oci-extract's source-error check looks for", () => {
    const err = new RegistryError('NOT_FOUND', 'x');
    expect((err as unknown as Record<symbol, unknown>)[Symbol.for('@oci2lxc/oci-registry.RegistryError')]).toBe(true);
    expect(Object.keys(err)).not.toContain(Symbol.for('@oci2lxc/oci-registry.RegistryError').toString());
  });

  it('isRegistryError and registryCause accept another copy’s class, not an error merely named RegistryError', () => {
    class OtherCopy extends Error {
      readonly code = 'NETWORK_ERROR';
    }
    Object.defineProperty(OtherCopy.prototype, Symbol.for('@oci2lxc/oci-registry.RegistryError'), { value: true });
    const other = new OtherCopy('reset');
    expect(isRegistryError(other)).toBe(true);
    expect(registryCause(new Error('wrapped', { cause: other }))).toBe(other);
    const impostor = Object.assign(new Error('x'), { name: 'RegistryError', code: 'NOT_FOUND' });
    expect(isRegistryError(impostor)).toBe(false);
    expect(registryCause(impostor)).toBeUndefined();
  });
});
