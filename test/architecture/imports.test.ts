import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from '@jest/globals';

/** Every TypeScript file under `folder`, as paths relative to the repository root. */
function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative('.', join(entry.parentPath, entry.name)));
}

/** The relative modules a file imports (static, side-effect, re-export and dynamic), as repository paths. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/(?:^|\s)(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]/g),
    ...text.matchAll(/(?:^|\s)import\s+['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1] ?? '');
  return specifiers
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative('.', resolve(dirname(file), specifier)));
}

describe('the product and the sandbox', () => {
  test('no product module (src/) imports the sandbox, the tests, the benchmarks or the scripts', () => {
    const outside = sourceFiles('src').flatMap((file) =>
      relativeImports(file)
        .filter((target) => !target.startsWith(`src/`))
        .map((target) => `${file} imports ${target}`),
    );
    expect(outside).toEqual([]);
  });

  test('the check above sees imports: sandbox modules do import the product', () => {
    const intoProduct = sourceFiles('sandbox')
      .flatMap(relativeImports)
      .filter((t) => t.startsWith('src/'));
    expect(intoProduct.length).toBeGreaterThan(10);
  });
});
