// DATABASE_URL → dialect and location.
import { expect, test } from 'bun:test';
import { parseDatabaseUrl } from '../../src/store';

test('empty means data.sqlite3 in DATA_DIR', () => {
  expect(parseDatabaseUrl('', '/var/q2api')).toEqual({ dialect: 'sqlite', path: '/var/q2api/data.sqlite3' });
});

test('sqlite: forms', () => {
  expect(parseDatabaseUrl('sqlite:./x.db', '/d')).toEqual({ dialect: 'sqlite', path: './x.db' });
  expect(parseDatabaseUrl('sqlite:///abs/x.db', '/d')).toEqual({ dialect: 'sqlite', path: '/abs/x.db' });
  expect(parseDatabaseUrl('sqlite::memory:', '/d')).toEqual({ dialect: 'sqlite', path: ':memory:' });
  expect(() => parseDatabaseUrl('sqlite:', '/d')).toThrow(/file path/);
});

test('server URLs', () => {
  expect(parseDatabaseUrl('postgres://u:p@h/db', '/d')).toEqual({ dialect: 'postgres', url: 'postgres://u:p@h/db' });
  expect(parseDatabaseUrl('postgresql://h/db', '/d').dialect).toBe('postgres');
  expect(parseDatabaseUrl('mysql://u:p@h:3306/db', '/d')).toEqual({ dialect: 'mysql', url: 'mysql://u:p@h:3306/db' });
});

test('anything else is refused without echoing the password', () => {
  expect(() => parseDatabaseUrl('mongodb://u:hunter2@h/db', '/d')).toThrow(/DATABASE_URL/);
  expect(() => parseDatabaseUrl('mongodb://u:hunter2@h/db', '/d')).not.toThrow(/hunter2/);
});
