import { describe, expect, it } from 'vitest';
import { packageName } from '../src/index.js';

describe('oci-extract', () => {
  it('exports its name', () => {
    expect(packageName).toBe('@oci2lxc/oci-extract');
  });
});
