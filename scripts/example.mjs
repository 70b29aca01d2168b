// Builds the example image the README's quick start uses: a busybox-based application image,
// written both as an OCI archive and as a Docker archive under ./example/.
import { mkdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { writeArchive, busyboxLayer, dir, file } from '../packages/fixtures/dist/index.js';

const out = fileURLToPath(new URL('../example/', import.meta.url));
mkdirSync(out, { recursive: true });

// The app needs a shell: Debian's static busybox (busybox-static, installed by scripts/install-deps.sh).
// Without it the image still inspects and extracts, but its /bin/sh is a stub that cannot run.
const hasBusybox = existsSync('/bin/busybox');
if (!hasBusybox) process.stderr.write('example: no /bin/busybox (apt-get install busybox-static): the image gets a stub /bin/sh and cannot run\n');
const base = hasBusybox
  ? busyboxLayer()
  : [dir('bin'), file('bin/sh', '#!/bin/false\n', { mode: 0o755 }), dir('etc'), file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n')];
const app = [
  dir('srv'),
  dir('srv/app'),
  file('srv/app/hello.sh', '#!/bin/sh\necho "hello from $GREETING_TARGET in $(pwd)"\ntrap "echo bye; exit 0" USR1\nwhile :; do sleep 1; done\n', { mode: 0o755 }),
];
const image = {
  layers: [base, app],
  ref: 'demo:latest',
  config: {
    Entrypoint: ['/bin/sh', '/srv/app/hello.sh'],
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING_TARGET=the demo image'],
    WorkingDir: '/srv/app',
    StopSignal: 'SIGUSR1',
    Labels: { 'org.opencontainers.image.title': 'oci2lxc demo' },
  },
};
writeArchive({ format: 'oci', images: [image] }, join(out, 'demo-oci.tar'));
writeArchive({ format: 'docker-skopeo', images: [image] }, join(out, 'demo-docker.tar'));
process.stdout.write(`example images written: ${join(out, 'demo-oci.tar')}, ${join(out, 'demo-docker.tar')}\n`);
