import { useEffect, useState } from 'preact/hooks';

/** A tiny observable value: enough shared state for this app without a state library. */
export interface Store<T> {
  get(): T;
  set(value: T): void;
  subscribe(listener: () => void): () => void;
}

export function createStore<T>(initial: T): Store<T> {
  let value = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => value,
    set(next) {
      if (Object.is(next, value)) return;
      value = next;
      for (const listener of [...listeners]) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

/** Re-renders the component whenever the store changes. */
export function useStore<T>(store: Store<T>): T {
  const [, setTick] = useState(0);
  const value = store.get();
  useEffect(() => {
    const rerender = () => setTick((n) => n + 1);
    const unsubscribe = store.subscribe(rerender);
    // The value may have changed between render and subscription.
    if (!Object.is(store.get(), value)) rerender();
    return unsubscribe;
  }, [store, value]);
  return value;
}
