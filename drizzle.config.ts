// drizzle-kit configuration, one dialect per run (drizzle-kit handles one dialect per config).
// `bun run db:generate` runs it for sqlite, pg and mysql in turn, then embeds the SQL (scripts/gen-migrations.ts).
import { defineConfig } from 'drizzle-kit';

const DIALECTS = {
  sqlite: 'sqlite',
  pg: 'postgresql',
  mysql: 'mysql',
} as const;
type SchemaName = keyof typeof DIALECTS;

const chosen = process.env.DRIZZLE_DIALECT ?? '';
if (!(chosen in DIALECTS)) {
  throw new Error(
    `DRIZZLE_DIALECT=${JSON.stringify(chosen)}: expected one of ${Object.keys(DIALECTS).join(', ')} (or run \`bun run db:generate\`)`,
  );
}
const name = chosen as SchemaName;

export default defineConfig({
  dialect: DIALECTS[name],
  schema: `./src/store/schema/${name}.ts`,
  out: `./src/store/migrations/${name}`,
});
