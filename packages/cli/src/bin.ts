#!/usr/bin/env -S node --
import { main } from './main.js';
import { tuneV8 } from './v8-flags.js';

tuneV8();

// Ctrl-C: abort the running command so it can clean up; a second Ctrl-C exits at once.
const controller = new AbortController();
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    controller.abort(new Error(`interrupted by ${sig}`));
  });
}

main(process.argv.slice(2), { signal: controller.signal }).then((code) => {
  process.exitCode = code;
});
