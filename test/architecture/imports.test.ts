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

/**
 * The layers as docs/architecture.md writes them, top first: each line of its `layers` block is
 * `name: member member …`, a member being a folder under src/ (`handlers/`) or a module (`app.ts`).
 */
function documentedLayers(): Array<{ name: string; members: string[] }> {
  const doc = readFileSync('docs/architecture.md', 'utf8');
  const block = /```layers\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/architecture.md has no ```layers block');
  return block
    .trim()
    .split('\n')
    .map((line) => {
      const [name = '', members = ''] = line.split(':');
      return { name: name.trim(), members: members.trim().split(/\s+/) };
    });
}

/** The layer a src/ module belongs to: its rank (0 is the top) and name. */
function layerOf(layers: ReturnType<typeof documentedLayers>, file: string): { rank: number; name: string } {
  const inSrc = file.replace(/^src\//, '').replace(/\.js$/, '.ts');
  const rank = layers.findIndex(({ members }) =>
    members.some((m) =>
      m.endsWith('/') ? inSrc.startsWith(m) : inSrc === m || inSrc === m.replace(/\.ts$/, ''),
    ),
  );
  return { rank, name: layers[rank]?.name ?? '(none)' };
}

describe('layers that only point down (docs/architecture.md#layers)', () => {
  const layers = documentedLayers();
  const files = sourceFiles('src');

  test('every module under src/ is in exactly one documented layer', () => {
    const placed = files.map((file) => ({
      file,
      layers: layers.filter((l) =>
        l.members.some((m) => (m.endsWith('/') ? file.startsWith(`src/${m}`) : file === `src/${m}`)),
      ),
    }));
    expect(placed.filter((p) => p.layers.length !== 1).map((p) => `${p.file}: ${p.layers.length}`)).toEqual(
      [],
    );
  });

  test('no module imports one in a layer above its own', () => {
    const upward = files.flatMap((file) => {
      const from = layerOf(layers, file);
      return relativeImports(file)
        .filter((target) => target.startsWith('src/'))
        .map((target) => ({ target, to: layerOf(layers, target) }))
        .filter(({ to }) => to.rank < from.rank)
        .map(({ target, to }) => `${file} (${from.name}) imports ${target} (${to.name})`);
    });
    expect(upward).toEqual([]);
  });

  test('Block Kit builders are imported only by the handlers and the outbox', () => {
    const importers = files.filter(
      (file) =>
        !file.startsWith('src/blocks/') &&
        relativeImports(file).some((target) => target.startsWith('src/blocks/')),
    );
    expect(importers.filter((file) => !/^src\/(handlers|outbox)\//.test(file))).toEqual([]);
    expect(importers.length).toBeGreaterThan(5);
  });

  test('only the store talks to DynamoDB, and only the outbox and the Slack clients hold the Web API client', () => {
    const importing = (pattern: RegExp) => files.filter((file) => pattern.test(readFileSync(file, 'utf8')));
    expect(importing(/from '@aws-sdk\//).filter((f) => !f.startsWith('src/store/'))).toEqual([]);
    expect(importing(/from '@slack\/web-api'/).filter((f) => !/^src\/(slack|outbox)\//.test(f))).toEqual([]);
  });

  test('handlers are never handed the store or a raw client: no import of either, no Bolt `client` used', () => {
    const handlers = files.filter((file) => file.startsWith('src/handlers/'));
    const reaching = handlers.flatMap((file) => {
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      const imports = relativeImports(file).filter((t) => /^src\/(store|slack|net)\//.test(t));
      const packages = [...code.matchAll(/from '(@anthropic-ai\/sdk|@slack\/web-api|@aws-sdk\/[^']+)'/g)].map(
        (m) => m[1],
      );
      const boltClient = /\bclient\b/.test(code) ? ['the Bolt client'] : [];
      return [...imports, ...packages, ...boltClient].map((what) => `${file}: ${what}`);
    });
    expect(reaching).toEqual([]);
    expect(handlers.length).toBeGreaterThan(15);
  });
});
