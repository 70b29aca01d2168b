import { describe, expect, it } from 'vitest';
import { packageName } from '../src/index.js';

describe('oci-tar-image', () => {
  it('exports its name', () => {
    expect(packageName).toBe('@oci2lxc/oci-tar-image');
  });
});
