/** The stable codes of ContainerError. */
export type ContainerErrorCode =
  /** A container of that name exists (or appeared meanwhile) and `force` was not given. */
  | 'CONTAINER_EXISTS'
  /** Another run, or lxc-create, is creating the name; or LXC's lock stayed held. */
  | 'CONTAINER_BUSY'
  /** `force` over a running container. */
  | 'CONTAINER_RUNNING'
  | 'LOCK_FAILED'
  /** No perl to hold the locks (Debian: perl-base). */
  | 'LOCK_UNAVAILABLE'
  /** A container directory a hook's `sh -c` would have to quote; a --volume target through a symlink or non-directory in the image. */
  | 'UNSAFE_PATH'
  /** --ip for a container without a network interface. */
  | 'NO_INTERFACE'
  | 'NO_DHCP_CLIENT'
  /** An interface name the DHCP hook does not accept; a --volume path pct.conf cannot hold. */
  | 'INVALID_ARGUMENT';

/** A container could not be assembled; nothing was left behind when it is thrown. */
export class ContainerError extends Error {
  override readonly name = 'ContainerError';

  constructor(
    readonly code: ContainerErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const CONTAINER_ERROR = Symbol.for('@oci2lxc/lxc-container.ContainerError');
Object.defineProperty(ContainerError.prototype, CONTAINER_ERROR, { value: true });

/** A ContainerError of any copy of this package (its ESM and CJS builds, two versions in one tree). */
export function isContainerError(err: unknown): err is ContainerError {
  return err instanceof ContainerError || (err instanceof Error && (err as unknown as Record<symbol, unknown>)[CONTAINER_ERROR] === true);
}
