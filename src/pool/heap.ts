// An indexed binary min-heap: push, remove by key and peek in O(log n), so the pool can keep
// "best ready account" (priority strategy) and "next account to wake up" (cooldowns) without scans.

export interface IndexedHeap<T> {
  readonly size: number;
  has(key: string): boolean;
  /** Adds `item`, replacing any item with the same key. */
  push(item: T): void;
  remove(key: string): boolean;
  peek(): T | undefined;
  pop(): T | undefined;
}

/** `before(a, b)` is true when `a` must come out before `b`; `keyOf` names an item uniquely. */
export function createIndexedHeap<T>(before: (a: T, b: T) => boolean, keyOf: (item: T) => string): IndexedHeap<T> {
  const items: T[] = [];
  const positions = new Map<string, number>();

  const place = (i: number, item: T) => {
    items[i] = item;
    positions.set(keyOf(item), i);
  };

  function up(i: number): void {
    const item = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!before(item, p)) break;
      place(i, p);
      i = parent;
    }
    place(i, item);
  }

  function down(i: number): void {
    const item = items[i]!;
    const n = items.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(items[right]!, items[left]!) ? right : left;
      if (!before(items[child]!, item)) break;
      place(i, items[child]!);
      i = child;
    }
    place(i, item);
  }

  function removeAt(i: number): T {
    const removed = items[i]!;
    positions.delete(keyOf(removed));
    const last = items.pop()!;
    if (i < items.length) {
      place(i, last);
      // The moved item may belong above or below its new place.
      up(i);
      down(positions.get(keyOf(last))!);
    }
    return removed;
  }

  return {
    get size() {
      return items.length;
    },
    has: (key) => positions.has(key),
    push(item) {
      const at = positions.get(keyOf(item));
      if (at !== undefined) removeAt(at);
      items.push(item);
      up(items.length - 1);
    },
    remove(key) {
      const at = positions.get(key);
      if (at === undefined) return false;
      removeAt(at);
      return true;
    },
    peek: () => items[0],
    pop: () => (items.length === 0 ? undefined : removeAt(0)),
  };
}
