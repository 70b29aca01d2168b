// Platforms: parsing `os/arch[/variant]`, normalising the many spellings of one architecture
// (as containerd does), the host's platform, and matching.
import { arch as hostArch, endianness, platform as hostOs } from 'node:os';
import { OciImageError } from './errors.js';
import type { Platform } from './types.js';

function normalizeArch(architecture: string, variant: string | undefined): { architecture: string; variant?: string } {
  const a = architecture.toLowerCase();
  const v = variant?.toLowerCase() ?? '';
  switch (a) {
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return v === '' || v === 'v1' ? { architecture: 'amd64' } : { architecture: 'amd64', variant: v };
    case 'i386':
    case 'i486':
    case 'i586':
    case 'i686':
    case 'x86':
    case '386':
      return { architecture: '386' };
    case 'aarch64':
    case 'arm64':
      // arm64 images usually carry no variant; v8 is what that means.
      if (v === '' || v === '8' || v === 'v8' || v === 'v8.0') return { architecture: 'arm64', variant: 'v8' };
      if (v === '9' || v === '9.0' || v === 'v9.0') return { architecture: 'arm64', variant: 'v9' };
      return { architecture: 'arm64', variant: v };
    case 'armhf':
    case 'armv7':
    case 'armv7l':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
    case 'armv6':
    case 'armv6l':
      return { architecture: 'arm', variant: 'v6' };
    case 'armv5':
    case 'armv5l':
      return { architecture: 'arm', variant: 'v5' };
    case 'arm':
      if (v === '' || v === '7') return { architecture: 'arm', variant: 'v7' };
      if (v === '5' || v === '6' || v === '8') return { architecture: 'arm', variant: `v${v}` };
      return { architecture: 'arm', variant: v };
    default:
      return v === '' ? { architecture: a } : { architecture: a, variant: v };
  }
}

/** The canonical form of a platform: lowercase, `amd64`/`arm64`/`arm` spellings, default variants. */
export function normalizePlatform(p: Platform): Platform {
  let os = p.os.toLowerCase();
  if (os === 'macos') os = 'darwin';
  const out: Platform = { os, ...normalizeArch(p.architecture, p.variant) };
  if (p['os.version'] !== undefined) out['os.version'] = p['os.version'];
  if (p['os.features'] !== undefined) out['os.features'] = [...p['os.features']];
  return out;
}

const COMPONENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const KNOWN_ARCHES = new Set(['amd64', '386', 'arm64', 'arm', 'ppc64le', 'ppc64', 's390x', 'riscv64', 'mips64le', 'mips64', 'mipsle', 'mips', 'loong64', 'wasm']);

/**
 * Parses `os/architecture[/variant]` (e.g. `linux/arm64`, `linux/arm/v7`, `linux/x86_64`) into a
 * normalised Platform. A lone architecture (`arm64`) means Linux. Throws `INVALID_PLATFORM`.
 */
export function parsePlatform(value: string): Platform {
  const parts = value.trim().split('/');
  if (parts.length > 3 || parts.some((p) => !COMPONENT.test(p))) {
    throw new OciImageError('INVALID_PLATFORM', `invalid platform ${JSON.stringify(value)}: expected os/architecture[/variant], e.g. linux/amd64`, { subject: value });
  }
  if (parts.length === 1) {
    const arch = normalizeArch(parts[0]!, undefined);
    if (!KNOWN_ARCHES.has(arch.architecture)) {
      throw new OciImageError('INVALID_PLATFORM', `invalid platform ${JSON.stringify(value)}: expected os/architecture[/variant], e.g. linux/amd64`, { subject: value });
    }
    return normalizePlatform({ os: 'linux', ...arch });
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform(variant === undefined ? { os, architecture } : { os, architecture, variant });
}

/** `os/architecture[/variant]`. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** The platform this process runs on, normalised (e.g. `linux/amd64`, `linux/arm64/v8`). */
export function hostPlatform(): Platform {
  const os = hostOs();
  const map: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm64: 'arm64',
    arm: 'arm',
    s390x: 's390x',
    riscv64: 'riscv64',
    loong64: 'loong64',
    ppc64: endianness() === 'LE' ? 'ppc64le' : 'ppc64',
    mips64el: 'mips64le',
    mipsel: 'mipsle',
  };
  const a = hostArch();
  const architecture = map[a] ?? a;
  let variant: string | undefined;
  if (architecture === 'arm') {
    const v = (process.config.variables as Record<string, unknown>)['arm_version'];
    variant = typeof v === 'string' || typeof v === 'number' ? String(v) : '7';
  }
  return normalizePlatform(variant === undefined ? { os, architecture } : { os, architecture, variant });
}

/**
 * How well an image's platform serves a wanted one: 2 exact, 1 when the wanted platform names no
 * variant and the image has one, 0 no match. Both are normalised first.
 */
export function platformScore(wanted: Platform, have: Platform): number {
  const w = normalizePlatform(wanted);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return 0;
  if (w.variant === h.variant) return 2;
  return w.variant === undefined ? 1 : 0;
}
