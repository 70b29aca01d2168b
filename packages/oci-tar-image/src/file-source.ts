// The archive file as the rest of the package sees it: positional reads that count bytes.
import type { FileHandle } from 'node:fs/promises';
import type { PositionalFile } from '@oci2lxc/range-reader';

export class CountingFile implements PositionalFile {
  readonly handle: FileHandle;
  /** Bytes returned by all reads so far. */
  bytesRead = 0;

  constructor(handle: FileHandle) {
    this.handle = handle;
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const r = await this.handle.read(buffer, offset, length, position);
    this.bytesRead += r.bytesRead;
    return r;
  }
}
