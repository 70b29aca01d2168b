import { requireToolsOrExit } from '@oci2lxc/fixtures';

// The system tools these tests run as oracles: a missing one stops the run before any test, with
// one line per tool naming its Debian package (never many unrelated failures or a silent skip).
export function setup(): void {
  requireToolsOrExit(['lxc-start', 'lxc-stop', { tool: 'perl', package: 'perl-base' }, '/bin/busybox']);
}
