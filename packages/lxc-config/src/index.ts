export type { EnvRoute, ImageConfig, RuntimeConfig, LxcCapabilities, LxcConfigLine, LxcPlan, ParsedSignal, ResolvedUser, StartWrapper } from './types.js';
export { LxcConfigError, isLxcConfigError, type LxcConfigErrorCode } from './errors.js';
export { capabilitiesFor, detectCapabilities } from './capabilities.js';
export { buildLxcConfig, DEFAULT_WRAPPER_PATH, type BuildOptions } from './build.js';
export { renderLxcConfig, type RenderOptions } from './render.js';
export { writeStartWrapper } from './wrapper.js';
export { ensureDirectoryInRoot } from './rootfs.js';
export { resolveUser } from './user.js';
export { parseSignal } from './signal.js';
export { shellQuote } from './shell.js';
export { splitInitCmd } from './initcmd.js';
export { DEFAULT_PATH } from './env.js';
export { ConfigDocument, escapeComment, parsePveText, PVE_DESCRIPTION_LIMIT, type ConfigEntry, type ConfigFlavor } from './document.js';
export { planDocument } from './render.js';
export { configValueProblem, encodeConfigValue, parseConfigText } from './confvalue.js';
export {
  addressFamily,
  interfaceLines,
  isDnsName,
  isLoopbackAddress,
  isStrictIPv4,
  isStrictIPv6,
  parseGateway,
  parseHostname,
  parseInterfaceAddress,
  parseIpSetting,
  parseNameserver,
  type Gateway,
  type InterfaceAddress,
  type InterfaceLinesOptions,
  type IpSetting,
} from './network.js';
export { containerResolvers, FALLBACK_NAMESERVERS, hostnameText, hostsText, resolvConfText, type ResolverSettings } from './names.js';
export { bindMountLine, mountTarget, type BindMount } from './mounts.js';
export { writeFileInRoot } from './rootfs.js';
export { applyOverrides, parseCpus, parseMemory, type RunOverrides } from './overrides.js';
