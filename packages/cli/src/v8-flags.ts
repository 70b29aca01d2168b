// V8 settings of the executables (never of the library packages, whose host process is someone
// else's). undici, the HTTP client of registry pulls, parses HTTP with llhttp compiled to
// WebAssembly, and V8's optimizing tier compiles that module up front: measured ~150 ms and a
// ~30 MiB peak of memory on every command that opens a registry. The baseline compiler (Liftoff)
// is plenty for llhttp's work here (headers, and body boundaries: blob bytes are not scanned).
// Wasm flags are read when a module is compiled, so setting them at start-up takes effect.
import { setFlagsFromString } from 'node:v8';

export function tuneV8(): void {
  setFlagsFromString('--liftoff-only');
}
