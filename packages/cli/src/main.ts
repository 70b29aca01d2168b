/** Runs the CLI with the given arguments; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--version')) {
    process.stdout.write('0.1.0\n');
    return 0;
  }
  process.stdout.write('oci2lxc: turn OCI image archives into LXC containers\n');
  return 0;
}
