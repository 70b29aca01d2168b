// Error codes are public API with one vocabulary across the packages (DEVELOPERS.md "Error
// codes"): the code unions in the sources, that table and each package README's table must agree,
// a code has one meaning (one row), and one idea has one code (no near-duplicates).
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const packages = ['range-reader', 'oci-tar-image', 'oci-extract', 'lxc-config', 'oci-registry', 'lxc-container', 'cli'] as const;
type Pkg = (typeof packages)[number];

/** Codes renamed away: they must not come back in sources, tests or READMEs. */
const RETIRED = ['INVALID_OPTION', 'INVALID_VALUE', 'UNSAFE_ROOTFS_PATH', 'UNSAFE_VOLUME_TARGET', 'UNSUPPORTED_VOLUME', 'UNREPRESENTABLE_ARGUMENT', 'SCHEMA1_UNSUPPORTED'];

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/**
 * The codes a package declares: the members of its `…ErrorCode` unions, `readonly code = 'X'` of
 * its error classes, and the CLI's fallback (`errorCode(err) ?? 'INTERNAL'`). Read with the
 * TypeScript parser, so comments and strings elsewhere do not count.
 */
function declaredCodes(pkg: Pkg): Set<string> {
  const codes = new Set<string>();
  for (const file of tsFiles(join(root, 'packages', pkg, 'src'))) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isTypeAliasDeclaration(node) && /ErrorCode$/.test(node.name.text)) {
        const members = ts.isUnionTypeNode(node.type) ? node.type.types : [node.type];
        for (const m of members) if (ts.isLiteralTypeNode(m) && ts.isStringLiteral(m.literal)) codes.add(m.literal.text);
      }
      if (ts.isPropertyDeclaration(node) && node.name.getText(sf) === 'code' && node.initializer) {
        const init = ts.isAsExpression(node.initializer) ? node.initializer.expression : node.initializer;
        if (ts.isStringLiteral(init)) codes.add(init.text);
      }
      if (
        ts.isBinaryExpression(node) &&
        node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken &&
        ts.isCallExpression(node.left) &&
        node.left.expression.getText(sf) === 'errorCode' &&
        ts.isStringLiteral(node.right)
      ) {
        codes.add(node.right.text);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return codes;
}

/** Rows of the markdown tables whose header starts with `| code |`: [codes of the first cell, other cells]. */
function codeTables(markdown: string): Array<{ codes: string[]; cells: string[] }> {
  const rows: Array<{ codes: string[]; cells: string[] }> = [];
  let inTable = false;
  for (const line of markdown.split('\n')) {
    if (/^\|\s*code\s*\|/i.test(line)) {
      inTable = true;
      continue;
    }
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    if (!inTable || /^\|[-\s|]+\|$/.test(line)) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    rows.push({ codes: [...cells[0]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!), cells: cells.slice(1) });
  }
  return rows;
}

/** The vocabulary table of DEVELOPERS.md: code → packages declaring it. */
function vocabulary(): Map<string, Set<string>> {
  const text = readFileSync(join(root, 'DEVELOPERS.md'), 'utf8');
  const section = text.slice(text.indexOf('## Error codes'));
  const table = new Map<string, Set<string>>();
  for (const row of codeTables(section.slice(0, section.indexOf('\n## ', 1) === -1 ? undefined : section.indexOf('\n## ', 1)))) {
    expect(row.codes, `one code per row: ${row.codes.join(', ')}`).toHaveLength(1);
    const code = row.codes[0]!;
    expect(table.has(code), `${code} has more than one row (one code, one meaning)`).toBe(false);
    table.set(code, new Set(row.cells[0]!.split(',').map((p) => p.trim())));
  }
  return table;
}

const SYNONYMS: Array<[RegExp, string]> = [
  [/\b(OPTION|VALUE|ARG|PARAM|PARAMETER|ARGUMENT)\b/g, 'ARGUMENT'],
  [/\b(BAD|MALFORMED|WRONG|INVALID)\b/g, 'INVALID'],
  [/\b(NOT FOUND|MISSING|ABSENT)\b/g, 'NOTFOUND'],
  [/\b(NOT SUPPORTED|UNSUPPORTED)\b/g, 'UNSUPPORTED'],
  [/\b(TOO BIG|TOO LONG|TOO LARGE)\b/g, 'TOOLARGE'],
  [/\b(DIFFERS|MISMATCH)\b/g, 'MISMATCH'],
  [/\bTARGET\b/g, 'PATH'],
];
/** Words that only say where or restate "error": a code with one is the same idea as the code without. */
const QUALIFIERS = new Set(['ROOTFS', 'VOLUME', 'HOST', 'ERROR', 'FAILED', 'FAILURE']);

/** A code reduced to its idea: synonyms unified, qualifiers dropped, word order ignored. */
function idea(code: string): string {
  let s = code.replace(/_/g, ' ');
  for (const [re, word] of SYNONYMS) s = s.replace(re, word);
  return s
    .split(' ')
    .filter((w) => !QUALIFIERS.has(w))
    .sort()
    .join(' ');
}

function nearDuplicates(codes: Iterable<string>): string[][] {
  const byIdea = new Map<string, string[]>();
  for (const c of codes) byIdea.set(idea(c), [...(byIdea.get(idea(c)) ?? []), c]);
  return [...byIdea.values()].filter((g) => g.length > 1);
}

describe('error codes: one vocabulary', () => {
  const declared = Object.fromEntries(packages.map((p) => [p, declaredCodes(p)])) as Record<Pkg, Set<string>>;
  const table = vocabulary();

  it('the near-duplicate check catches the names it replaced', () => {
    expect(nearDuplicates(['INVALID_OPTION', 'INVALID_VALUE', 'INVALID_ARGUMENT'])).toEqual([['INVALID_OPTION', 'INVALID_VALUE', 'INVALID_ARGUMENT']]);
    expect(nearDuplicates(['UNSAFE_PATH', 'UNSAFE_ROOTFS_PATH', 'UNSAFE_VOLUME_TARGET'])).toEqual([['UNSAFE_PATH', 'UNSAFE_ROOTFS_PATH', 'UNSAFE_VOLUME_TARGET']]);
    expect(nearDuplicates(['SCHEMA1_UNSUPPORTED', 'UNSUPPORTED_SCHEMA1', 'MISSING_BLOB', 'BLOB_NOT_FOUND'])).toHaveLength(2);
    expect(nearDuplicates(['DIGEST_MISMATCH', 'DIFF_ID_MISMATCH', 'SIZE_MISMATCH', 'NOT_FOUND', 'ARCHIVE_NOT_FOUND'])).toEqual([]);
  });

  it('every package declares codes, read from its sources', () => {
    for (const p of packages) expect(declared[p].size, p).toBeGreaterThan(2);
    expect(declared.cli).toContain('INTERNAL');
    expect(declared.cli).toContain('USAGE');
    expect(declared['range-reader']).toContain('SHORT_READ');
  });

  it('DEVELOPERS.md lists exactly the declared codes, with the packages that declare them', () => {
    const fromSources = new Map<string, string[]>();
    for (const p of packages) for (const c of declared[p]) fromSources.set(c, [...(fromSources.get(c) ?? []), p]);
    const documented = new Map([...table].map(([c, ps]) => [c, [...ps].sort()]));
    const actual = new Map([...fromSources].map(([c, ps]) => [c, [...ps].sort()]));
    expect(Object.fromEntries([...documented].sort())).toEqual(Object.fromEntries([...actual].sort()));
  });

  it('no two codes in any package name the same idea', () => {
    const all = new Set([...table.keys(), ...packages.flatMap((p) => [...declared[p]])]);
    expect(nearDuplicates(all)).toEqual([]);
  });

  it.each(packages)('the README of %s has an error table with exactly its codes', (p) => {
    const rows = codeTables(readFileSync(join(root, 'packages', p, 'README.md'), 'utf8'));
    expect(rows.length, `${p}/README.md has no "| code |" table`).toBeGreaterThan(0);
    expect(new Set(rows.flatMap((r) => r.codes))).toEqual(declared[p]);
  });

  it('renamed codes do not come back', () => {
    for (const p of [...packages, 'fixtures', 'interop', 'package-check']) {
      const dir = join(root, 'packages', p);
      const files = [...tsFiles(join(dir, 'src')), ...tsFiles(join(dir, 'test')).filter((f) => !f.endsWith('error-codes.test.ts')), join(dir, 'README.md')];
      for (const f of files.filter((f) => existsSync(f))) {
        const text = readFileSync(f, 'utf8');
        for (const old of RETIRED) expect(new RegExp(`\\b${old}\\b`).test(text), `${f} still says ${old}`).toBe(false);
      }
    }
  });
});
