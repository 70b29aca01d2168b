import { describe, expect, it } from 'vitest';
import { packageName } from '../src/index.js';

describe('range-reader', () => {
  it('exports its name', () => {
    expect(packageName).toBe('@oci2lxc/range-reader');
  });
});
