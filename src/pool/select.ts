// The selection strategies (ACCOUNT_STRATEGY) as indexes over the accounts that can serve right
// now. Each keeps its own order so that a pick costs O(1) (O(log n) for priority) however large
// the pool: nothing here scans the accounts.

import type { AccountStrategy } from '../config';
import { createIndexedHeap } from './heap';

export interface ReadyIndex {
  readonly size: number;
  has(id: string): boolean;
  /** the account can serve again */
  add(id: string): void;
  delete(id: string): void;
  /** The account this strategy wants next among those `skip` does not reject; undefined when none. */
  pick(skip: (id: string) => boolean): string | undefined;
  /** `id` was handed out (its load went up). */
  picked(id: string): void;
  /** a request on `id` ended (its load went down). */
  released(id: string): void;
}

export interface IndexDeps {
  /** uniform in [0, 1), injected */
  random: () => number;
  /** requests in flight on an account */
  load: (id: string) => number;
  /** fill-first order: true when account `a` is to be used before `b` */
  before: (a: string, b: string) => boolean;
}

/** Below this many ready accounts a random pick filters a copy instead of probing (exact and cheap). */
const RANDOM_SCAN_BELOW = 32;
/** Random probes before the rare fallback to a scan (all but a few accounts rejected by `skip`). */
const RANDOM_PROBES = 64;

export function createReadyIndex(strategy: AccountStrategy, deps: IndexDeps): ReadyIndex {
  switch (strategy) {
    case 'round-robin':
      return roundRobin();
    case 'least-used':
      return leastUsed(deps.load);
    case 'priority':
      return fillFirst(deps.before);
    default:
      return uniformRandom(deps.random);
  }
}

/** `random`: uniform over the ready accounts (array + position map, swap-remove). */
function uniformRandom(random: () => number): ReadyIndex {
  const ids: string[] = [];
  const at = new Map<string, number>();
  return {
    get size() {
      return ids.length;
    },
    has: (id) => at.has(id),
    add(id) {
      if (at.has(id)) return;
      at.set(id, ids.length);
      ids.push(id);
    },
    delete(id) {
      const i = at.get(id);
      if (i === undefined) return;
      const last = ids.pop()!;
      at.delete(id);
      if (last !== id) {
        ids[i] = last;
        at.set(last, i);
      }
    },
    pick(skip) {
      if (ids.length < RANDOM_SCAN_BELOW) {
        const open = ids.filter((id) => !skip(id));
        return open.length === 0 ? undefined : open[Math.floor(random() * open.length)];
      }
      for (let i = 0; i < RANDOM_PROBES; i++) {
        const id = ids[Math.floor(random() * ids.length)]!;
        if (!skip(id)) return id;
      }
      const open = ids.filter((id) => !skip(id));
      return open.length === 0 ? undefined : open[Math.floor(random() * open.length)];
    },
    picked() {},
    released() {},
  };
}

/** A Set iterates in insertion order, and delete + add moves an entry to the back in O(1). */
function firstOpen(set: Set<string>, skip: (id: string) => boolean): string | undefined {
  for (const id of set) if (!skip(id)) return id;
  return undefined;
}

/** `round-robin`: a queue; the account handed out goes to the back. */
function roundRobin(): ReadyIndex {
  const queue = new Set<string>();
  return {
    get size() {
      return queue.size;
    },
    has: (id) => queue.has(id),
    add: (id) => void queue.add(id),
    delete: (id) => void queue.delete(id),
    pick: (skip) => firstOpen(queue, skip),
    picked(id) {
      if (queue.delete(id)) queue.add(id);
    },
    released() {},
  };
}

/**
 * `least-used`: fewest requests in flight first; among equals, the one used least recently. One
 * queue per load level (levels are bounded by the concurrency in flight, so there are few).
 */
function leastUsed(load: (id: string) => number): ReadyIndex {
  const levels = new Map<number, Set<string>>();
  const levelOf = new Map<string, number>();
  let top = 0;
  const put = (id: string) => {
    const k = load(id);
    let level = levels.get(k);
    if (!level) levels.set(k, (level = new Set()));
    level.add(id);
    levelOf.set(id, k);
    top = Math.max(top, k);
  };
  const take = (id: string) => {
    const k = levelOf.get(id);
    if (k === undefined) return false;
    levels.get(k)?.delete(id);
    levelOf.delete(id);
    return true;
  };
  return {
    get size() {
      return levelOf.size;
    },
    has: (id) => levelOf.has(id),
    add(id) {
      if (!levelOf.has(id)) put(id);
    },
    delete: (id) => void take(id),
    pick(skip) {
      for (let k = 0; k <= top; k++) {
        const level = levels.get(k);
        if (!level || level.size === 0) continue;
        const id = firstOpen(level, skip);
        if (id !== undefined) return id;
      }
      return undefined;
    },
    // Re-filed at the back of its new level: the most recently used of its peers.
    picked: (id) => void (take(id) && put(id)),
    released: (id) => void (take(id) && put(id)),
  };
}

/** `priority`: fill-first — always the first ready account in priority order (a heap over that order). */
function fillFirst(before: (a: string, b: string) => boolean): ReadyIndex {
  const heap = createIndexedHeap<string>(before, (id) => id);
  return {
    get size() {
      return heap.size;
    },
    has: (id) => heap.has(id),
    add(id) {
      if (!heap.has(id)) heap.push(id);
    },
    delete: (id) => void heap.remove(id),
    pick(skip) {
      // Rejected accounts (at most the few a request already tried) are set aside and put back.
      const aside: string[] = [];
      let found: string | undefined;
      for (let id = heap.peek(); id !== undefined; id = heap.peek()) {
        if (!skip(id)) {
          found = id;
          break;
        }
        aside.push(heap.pop()!);
      }
      for (const id of aside) heap.push(id);
      return found;
    },
    picked() {},
    released() {},
  };
}
