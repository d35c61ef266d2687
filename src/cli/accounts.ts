// `q2api accounts …`: the Python q2api's operator scripts as subcommands, on the configured database.

import { readFileSync } from 'node:fs';
import type { AppContext } from '../context';
import { accountStatus, accountView } from '../http/account-view';
import { InputError, parseImport, toNewAccount, credentialToInput } from '../accounts/input';
import { DuplicateAccountError, type Account } from '../store/accounts';

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

const HELP = `q2api accounts <command>

  list [--enabled true|false] [--json]   accounts with status and counters (secrets masked)
  add --refresh-token T [--client-id I --client-secret S] [--label L] [--auth-method idc|social|api_key]
  import FILE… ('-' reads standard input)  Kiro token files, proxy-style arrays, a q2api export
  enable ID…  |  disable ID…  |  delete ID…
  stats                                   totals by state
  reset-errors [ID…]                      zero error counts; re-enable accounts disabled for too many errors
  retry-failed                            refresh every account disabled by a failed refresh; enable those that work
`;

/** Whole-account pages read by commands that walk every account. */
const PAGE = 500;

async function all(ctx: AppContext, enabled?: boolean): Promise<Account[]> {
  const out: Account[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const { items } = await ctx.store.accounts.list({ enabled, limit: PAGE, offset });
    out.push(...items);
    if (items.length < PAGE) return out;
  }
}

function flags(args: string[]): { positional: string[]; opts: Map<string, string> } {
  const positional: string[] = [];
  const opts = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      if (v !== undefined) opts.set(k!, v);
      else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) opts.set(k!, args[++i]!);
      else opts.set(k!, 'true');
    } else positional.push(a);
  }
  return { positional, opts };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n';
}

export async function runAccountsCommand(ctx: AppContext, args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  const { positional, opts } = flags(rest);
  const repo = ctx.store.accounts;
  const now = new Date(ctx.clock.now());
  switch (sub) {
    case 'list': {
      const enabled = opts.has('enabled') ? opts.get('enabled') === 'true' : undefined;
      const accounts = await all(ctx, enabled);
      if (opts.has('json')) {
        io.out(JSON.stringify(accounts.map((a) => accountView(a, now)), null, 2) + '\n');
        return 0;
      }
      const rows = [['ID', 'LABEL', 'AUTH', 'STATUS', 'OK', 'ERR', 'EXPIRES', 'REASON']];
      for (const a of accounts) {
        rows.push([a.id, (a.label ?? '').slice(0, 20), a.authMethod, accountStatus(a, now), String(a.successCount), String(a.errorCount), a.expiresAt?.toISOString() ?? '-', a.disabledReason ?? '']);
      }
      io.out(table(rows));
      return 0;
    }
    case 'add': {
      try {
        const account = await repo.create(
          toNewAccount({
            label: opts.get('label'),
            clientId: opts.get('client-id'),
            clientSecret: opts.get('client-secret'),
            refreshToken: opts.get('refresh-token'),
            accessToken: opts.get('access-token'),
            authMethod: opts.get('auth-method') as 'idc' | 'social' | 'api_key' | undefined,
            region: opts.get('region'),
            profileArn: opts.get('profile-arn'),
          }),
        );
        io.out(`added ${account.id}\n`);
        return 0;
      } catch (e) {
        if (e instanceof InputError) io.err(`invalid: ${e.message}\n`);
        else if (e instanceof DuplicateAccountError) io.err(`duplicate of ${e.existingId}\n`);
        else throw e;
        return 1;
      }
    }
    case 'import': {
      if (positional.length === 0) {
        io.err('import: name one or more JSON files, or - for standard input\n');
        return 2;
      }
      let created = 0;
      let failed = 0;
      for (const file of positional) {
        const text = file === '-' ? await Bun.stdin.text() : readFileSync(file, 'utf8');
        let doc: unknown;
        try {
          doc = JSON.parse(text);
        } catch {
          io.err(`${file}: not valid JSON\n`);
          failed++;
          continue;
        }
        // A single token file imported by name keeps the file name as its label.
        const items = parseImport(doc);
        for (const item of items) {
          const where = `${file}${item.source === 'body' ? '' : ' ' + item.source}`;
          if (!item.input) {
            io.err(`${where}: ${item.error}\n`);
            failed++;
            continue;
          }
          try {
            const input = item.input.label ? item.input : credentialToInput({ ...item.input }, file.replace(/^.*\//, ''));
            const a = await repo.create(toNewAccount(input));
            io.out(`${where}: added ${a.id}\n`);
            created++;
          } catch (e) {
            if (e instanceof InputError) io.err(`${where}: invalid: ${e.message}\n`);
            else if (e instanceof DuplicateAccountError) io.err(`${where}: duplicate of ${e.existingId}\n`);
            else throw e;
            failed++;
          }
        }
      }
      io.out(`${created} added, ${failed} not added\n`);
      return failed > 0 && created === 0 ? 1 : 0;
    }
    case 'enable':
    case 'disable':
    case 'delete': {
      if (positional.length === 0) {
        io.err(`${sub}: name one or more account ids\n`);
        return 2;
      }
      let missing = 0;
      for (const id of positional) {
        const ok =
          sub === 'delete'
            ? await repo.delete(id)
            : (await repo.update(
                id,
                sub === 'enable'
                  ? { enabled: true, disabledReason: null, errorCount: 0, cooldownUntil: null }
                  : { enabled: false, disabledReason: 'manual' },
              )) !== null;
        if (ok) io.out(`${sub}d ${id}\n`);
        else {
          io.err(`${id}: no such account\n`);
          missing++;
        }
      }
      return missing > 0 ? 1 : 0;
    }
    case 'stats': {
      const accounts = await all(ctx);
      const count = (f: (a: Account) => boolean) => accounts.filter(f).length;
      const byStatus = new Map<string, number>();
      for (const a of accounts) byStatus.set(accountStatus(a, now), (byStatus.get(accountStatus(a, now)) ?? 0) + 1);
      io.out(
        table([
          ['TOTAL', 'ENABLED', 'DISABLED', 'REFRESH FAILED', 'NEVER USED', 'WITH ERRORS', 'SUCCESSES'],
          [
            String(accounts.length),
            String(count((a) => a.enabled)),
            String(count((a) => !a.enabled)),
            String(count((a) => a.lastRefreshStatus === 'failed')),
            String(count((a) => a.successCount === 0)),
            String(count((a) => a.errorCount > 0)),
            String(accounts.reduce((s, a) => s + a.successCount, 0)),
          ],
        ]) +
          [...byStatus].map(([s, n]) => `${s}: ${n}`).join('\n') +
          '\n',
      );
      return 0;
    }
    case 'reset-errors': {
      const targets = positional.length ? positional : (await all(ctx)).filter((a) => a.errorCount > 0 || a.disabledReason === 'too_many_errors').map((a) => a.id);
      for (const id of targets) {
        const a = await repo.get(id);
        if (!a) {
          io.err(`${id}: no such account\n`);
          continue;
        }
        const revive = !a.enabled && a.disabledReason === 'too_many_errors';
        await repo.update(id, { errorCount: 0, lastError: null, cooldownUntil: null, ...(revive ? { enabled: true, disabledReason: null } : {}) });
        io.out(`reset ${id}${revive ? ' (re-enabled)' : ''}\n`);
      }
      return 0;
    }
    case 'retry-failed': {
      const failed = (await all(ctx, false)).filter(
        (a) => a.lastRefreshStatus === 'failed' || a.disabledReason === 'refresh_failed' || a.disabledReason === 'invalid_grant',
      );
      let revived = 0;
      for (const a of failed) {
        try {
          await ctx.pool.refresh(a.id);
          await repo.update(a.id, { enabled: true, disabledReason: null, errorCount: 0 });
          io.out(`${a.id}: refreshed and enabled\n`);
          revived++;
        } catch (e) {
          io.err(`${a.id}: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      }
      io.out(`${revived} of ${failed.length} failed accounts revived\n`);
      return 0;
    }
    case undefined:
    case '--help':
    case 'help':
      io.out(HELP);
      return sub === undefined ? 2 : 0;
    default:
      io.err(`unknown accounts command "${sub}"\n\n${HELP}`);
      return 2;
  }
}
