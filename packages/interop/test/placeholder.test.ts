import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';

describe('interop tools', () => {
  it('has umoci and skopeo', () => {
    expect(execFileSync('umoci', ['--version'], { encoding: 'utf8' })).toMatch(/umoci version/);
    expect(execFileSync('skopeo', ['--version'], { encoding: 'utf8' })).toMatch(/skopeo version/);
  });
});
