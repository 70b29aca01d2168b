declare const __OCI2LXC_VERSION__: string;

/** The CLI's version, baked in at build time. */
export const version: string = typeof __OCI2LXC_VERSION__ === 'string' ? __OCI2LXC_VERSION__ : '0.0.0';
