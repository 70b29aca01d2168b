import { describe, expect, it } from 'vitest';
import { packageName } from '../src/index.js';

describe('lxc-config', () => {
  it('exports its name', () => {
    expect(packageName).toBe('@oci2lxc/lxc-config');
  });
});
