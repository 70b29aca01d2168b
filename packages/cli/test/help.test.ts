// `--help` is rendered from the table the parser uses: for every command (and the LXC template),
// every option the parser accepts is in the help and every option the help names is accepted.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { OptionSpec } from '../src/args.js';
import { commands, main } from '../src/main.js';
import { templateHelp, templateOptions } from '../src/template-options.js';
import { templateBin } from './run-cli.js';

/** The options the help's option lines list: `  -s, --name VALUE  text` → ['--name', '-s']. */
function listed(help: string): string[] {
  const out: string[] = [];
  for (const line of help.split('\n')) {
    const m = /^ {2}(?:-([A-Za-z]), )?--([a-z][a-z-]*)\b/.exec(line);
    if (m) out.push(`--${m[2]}`, ...(m[1] ? [`-${m[1]}`] : []));
  }
  return out.sort();
}

/** Every `--name` the help's usage lines mention (examples may name other tools' options). */
function mentioned(help: string): string[] {
  const usage = help.slice(0, help.indexOf('\n\n'));
  return [...new Set([...usage.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => `--${m[1]}`))].sort();
}

function accepted(spec: OptionSpec): string[] {
  return Object.entries(spec)
    .flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])])
    .sort();
}

/**
 * argv giving every option of the table once (long and short form), then --help. The value is a
 * file that exists: Node 20 reads `--env-file FILE` even after the script's name (nodejs/node#51006).
 */
function everyOption(spec: OptionSpec): string[] {
  return Object.entries(spec).flatMap(([name, o]) => {
    const value = o.type === 'string' ? ['/dev/null'] : [];
    return [`--${name}`, ...value, ...(o.short ? [`-${o.short}`, ...value] : [])];
  }).concat('--help');
}

function capture() {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (c: string) => ((out += c), true) }, stderr: { write: (c: string) => ((err += c), true) } },
    get out() {
      return out;
    },
    get err() {
      return err;
    },
  };
}

describe.each(commands.map((c) => [c.name, c] as const))('oci2lxc %s --help', (name, command) => {
  it('lists exactly the options the parser accepts', () => {
    expect(listed(command.help)).toEqual(accepted(command.options));
    for (const flag of mentioned(command.help)) expect(accepted(command.options), `${name} --help mentions ${flag}`).toContain(flag);
    for (const flag of ['--help', '-h', '--quiet', '-q', '--json']) expect(listed(command.help)).toContain(flag);
  });

  it('the parser accepts every option the help lists, and nothing else', async () => {
    const ok = capture();
    expect(await main([name, ...everyOption(command.options)], ok.io), ok.err).toBe(0);
    expect(ok.out).toBe(`${command.help}\n`);
    const bad = capture();
    expect(await main([name, '--not-an-option', '--help'], bad.io)).toBe(2);
    expect(bad.err).toContain("'--not-an-option'");
  });
});

describe('lxc-oci2lxc --help', () => {
  it('lists exactly the options the parser accepts', () => {
    expect(listed(templateHelp)).toEqual(accepted(templateOptions));
    for (const flag of mentioned(templateHelp)) expect(accepted(templateOptions), `template help mentions ${flag}`).toContain(flag);
  });

  it('the parser accepts every option the help lists, and nothing else', () => {
    const ok = spawnSync(process.execPath, [templateBin, ...everyOption(templateOptions)], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    // The built binary has its version baked in; from the options on, the text is the same.
    const options = (text: string) => text.slice(text.indexOf('Template options'));
    expect(options(ok.stdout)).toBe(`${options(templateHelp)}\n`);
    const bad = spawnSync(process.execPath, [templateBin, '--not-an-option', '--help'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
  });
});
