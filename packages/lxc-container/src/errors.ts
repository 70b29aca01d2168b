/**
 * A container could not be assembled, with a stable `code`: CONTAINER_EXISTS, CONTAINER_BUSY,
 * CONTAINER_RUNNING, LOCK_FAILED, LOCK_UNAVAILABLE, UNSAFE_PATH, NO_INTERFACE, NO_DHCP_CLIENT,
 * UNSAFE_VOLUME_TARGET, UNSUPPORTED_VOLUME. Nothing was left behind when it is thrown.
 */
export class ContainerError extends Error {
  override readonly name = 'ContainerError';
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
