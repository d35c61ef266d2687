// The committed src/store/migrations.gen.ts must match the SQL drizzle-kit wrote; otherwise the binary
// would ship different migrations from the ones in the repository.
import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderEmbeddedMigrations } from '../../scripts/gen-migrations';
import { migrationsFor } from '../../src/store/migrate';

const root = join(import.meta.dir, '../..');

test('migrations.gen.ts is current (run `bun run db:generate` after a schema change)', () => {
  expect(readFileSync(join(root, 'src/store/migrations.gen.ts'), 'utf8')).toBe(renderEmbeddedMigrations(root));
});

test('every dialect has the same number of migrations, hashed like drizzle does', () => {
  const counts = (['sqlite', 'postgres', 'mysql'] as const).map((d) => migrationsFor(d).length);
  expect(new Set(counts).size).toBe(1);
  for (const m of migrationsFor('postgres')) expect(m.hash).toMatch(/^[0-9a-f]{64}$/);
});
