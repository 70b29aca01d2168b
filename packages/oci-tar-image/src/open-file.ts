// Opening the archive file itself: never blocks (a FIFO or device given as the archive would
// wait forever for a writer), and turns the OS's refusal into a typed error.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { OciImageError } from './errors.js';

/** Opens `path` for positional reads; throws OciImageError unless it is a readable regular file. */
export async function openArchiveFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it has no effect on regular files.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new OciImageError('ARCHIVE_NOT_FOUND', `${path}: no such file`, { subject: path, cause: err });
    if (code === 'EISDIR') throw new OciImageError('NOT_AN_IMAGE', `${path}: is a directory, not an image archive`, { subject: path, cause: err });
    throw new OciImageError('ARCHIVE_UNREADABLE', `${path}: cannot open (${code ?? String(err)})`, { subject: path, cause: err });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new OciImageError('NOT_AN_IMAGE', `${path}: not a regular file`, { subject: path });
    return { handle, size: stat.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
