import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { capabilitiesFor, detectCapabilities, LxcConfigError } from '../src/index.js';

describe('capabilitiesFor', () => {
  it.each([
    ['4.0.9', false, false, false],
    ['4.0.10', false, false, true],
    ['4.0', false, false, false],
    ['5.0', false, false, true],
    ['5.0.2', false, false, true],
    ['lxc-5.0.3', false, false, true],
    ['6.0', true, false, true],
    ['6.0.5', true, false, true],
    ['v6.0.6', true, false, true],
    ['7.0.0', true, true, true],
    ['7.1', true, true, true],
  ])('%s: quoted=%s runtime=%s groups=%s', (v, quotedInitCmd, environmentRuntime, initGroups) => {
    expect(capabilitiesFor(v)).toEqual({ lxcVersion: v, quotedInitCmd, environmentRuntime, initGroups });
  });

  it('takes overrides for patched builds (lxc-pve 6.0.5-3)', () => {
    expect(capabilitiesFor('6.0.5-3', { environmentRuntime: true })).toMatchObject({ quotedInitCmd: true, environmentRuntime: true });
  });

  it('rejects garbage', () => {
    expect(() => capabilitiesFor('five')).toThrow(LxcConfigError);
  });
});

let lxcVersion: string | undefined;
try {
  lxcVersion = execFileSync('lxc-start', ['--version'], { encoding: 'utf8' }).trim();
} catch {
  lxcVersion = undefined;
}

describe.skipIf(lxcVersion === undefined)('detectCapabilities (installed LXC)', () => {
  it('reads the version and probes liblxc for the keys', async () => {
    const caps = await detectCapabilities();
    expect(caps.lxcVersion).toBe(lxcVersion);
    const table = capabilitiesFor(lxcVersion!);
    expect(caps.quotedInitCmd).toBe(table.quotedInitCmd);
    // Stock releases: the probe agrees with the version table.
    expect(caps.environmentRuntime).toBe(table.environmentRuntime);
    expect(caps.initGroups).toBe(table.initGroups);
  });

  it('reports a missing lxc-start as LXC_NOT_FOUND', async () => {
    await expect(detectCapabilities({ lxcStart: '/nonexistent/lxc-start' })).rejects.toMatchObject({ code: 'LXC_NOT_FOUND' });
  });
});
