/** Package name, for diagnostics. Placeholder until the package's issue fills it. */
export const packageName = '@oci2lxc/oci-tar-image';
