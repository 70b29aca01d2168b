// Keep the program's stdout/stderr like `docker logs`: LXC copies the container's console (the
// init's stdio) into <container dir>/console.log, bounded in size and rotated once (console.log.1).
import { join } from 'node:path';
import { encodeConfigValue, type LxcConfigLine } from '@oci2lxc/lxc-config';

/** The console log of a container directory. */
export function consoleLogPath(containerDir: string): string {
  return join(containerDir, 'console.log');
}

/** `lxc.console.logfile` (+ `.size` 1 MB, `.rotate`): at most ~2 MB of output kept on disk. */
export function consoleLogLines(containerDir: string): LxcConfigLine[] {
  return [
    { key: 'lxc.console.logfile', value: encodeConfigValue(consoleLogPath(containerDir), 'console log path') },
    { key: 'lxc.console.size', value: '1MB' },
    { key: 'lxc.console.rotate', value: '1' },
  ];
}
