import { expect, test } from 'bun:test';
import { jsonDepthExceeds } from '../../src/http/json-body';

test('jsonDepthExceeds counts nesting outside strings only, escapes included', () => {
  expect(jsonDepthExceeds('[[[1]]]', 3)).toBe(false);
  expect(jsonDepthExceeds('[[[[1]]]]', 3)).toBe(true);
  // brackets inside strings do not count, however the string is escaped
  expect(jsonDepthExceeds(JSON.stringify({ a: '[[[[{{{{', b: 'say \\"[[[[\\" \\\\', c: ['"[[[['] }), 2)).toBe(false);
  expect(jsonDepthExceeds(JSON.stringify({ a: 'x\\', b: [[[1]]] }), 3)).toBe(true);
  expect(jsonDepthExceeds('{"a":"\\\\"}', 1)).toBe(false);
  expect(jsonDepthExceeds('{"a":"\\\\\\"[[[[["}', 1)).toBe(false);
  expect(jsonDepthExceeds('{"unterminated": "[[[[', 1)).toBe(false);
  expect(jsonDepthExceeds('['.repeat(100_000), 256)).toBe(true);
});
