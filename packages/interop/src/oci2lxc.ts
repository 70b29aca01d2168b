// oci2lxc as the corpus drives it: the libraries (openImageArchive → selectImage → extractImage)
// and the CLI binary. Looked up at run time, so the corpus can report which parts exist yet.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as tarImage from '@oci2lxc/oci-tar-image';
import * as extract from '@oci2lxc/oci-extract';
import type { Image, ImageArchive, SelectOptions } from '@oci2lxc/oci-tar-image';

type OpenImageArchive = (path: string) => Promise<ImageArchive>;
type ExtractImage = (image: Image, rootfs: string, options?: Record<string, unknown>) => Promise<unknown>;

function exported<T>(mod: object, name: string): T | undefined {
  const v = (mod as Record<string, unknown>)[name];
  return typeof v === 'function' ? (v as T) : undefined;
}

const openFn = exported<OpenImageArchive>(tarImage, 'openImageArchive');
const extractFn = exported<ExtractImage>(extract, 'extractImage');

/** @oci2lxc/oci-tar-image exports openImageArchive. */
export const openAvailable = openFn !== undefined;
/** @oci2lxc/oci-extract exports extractImage (and the archive reader is there too). */
export const extractAvailable = openFn !== undefined && extractFn !== undefined;

/** Path of the built CLI (packages/cli/dist/bin.js). */
export const cliBin = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));

function cliHelp(): string {
  if (!existsSync(cliBin)) return '';
  const r = spawnSync(process.execPath, [cliBin, '--help'], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
}
const help = cliHelp();
/** The CLI binary exists and knows `extract` and `inspect`. */
export const cliAvailable = /\bextract\b/.test(help) && /\binspect\b/.test(help);

export async function openArchive(path: string): Promise<ImageArchive> {
  if (!openFn) throw new Error('@oci2lxc/oci-tar-image does not export openImageArchive yet');
  return openFn(path);
}

/** Opens the archive, selects one image and applies its layers into `rootfs` with extractImage. */
export async function extractWithLibrary(archivePath: string, rootfs: string, select: SelectOptions = {}): Promise<void> {
  if (!extractFn) throw new Error('@oci2lxc/oci-extract does not export extractImage yet');
  const archive = await openArchive(archivePath);
  try {
    const image = await archive.selectImage(select);
    await extractFn(image, rootfs, {});
  } finally {
    await archive.close();
  }
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node packages/cli/dist/bin.js …args`. */
export function runCli(args: readonly string[]): CliResult {
  const r = spawnSync(process.execPath, [cliBin, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
