import vm from 'node:vm';
import test from 'ava';
import { measuredHeapBytes } from '../../containers/inference/memory-budget.js';
import { ThreadHeap } from '../../containers/inference/thread-heap.js';

const MiB = 1024 * 1024;
// thread-heap.js turned on --expose-gc: a collection ThreadHeap did not run, as V8's own would be.
const collectOutside = vm.runInNewContext('gc') as () => void;

/** An array of doubles of about `bytes`, in the old generation once a collection promoted it. */
const doubles = (bytes: number) => Array.from({ length: bytes / 8 }, (_, i) => i + 0.5);

test('a heap is collected once it gathers more than its allowance, counted from its lowest point since the last collection', (t) => {
  const heap = new ThreadHeap();
  heap.limitGarbage(MiB);
  let live: number[] | undefined = doubles(4 * MiB);
  collectOutside();
  // 4 MiB more than at the last collection: collected, and the mark moves up to the live heap.
  heap.measure();
  t.is(heap.collections, 1);
  // V8 collects on its own once the array is dropped; the heap is back near where it started.
  live = undefined;
  collectOutside();
  const low = heap.measure();
  t.is(heap.collections, 1);
  // 2 MiB of garbage from there is past the allowance, though below the mark the live array had set.
  let garbage: number[] | undefined = doubles(2 * MiB);
  collectOutside();
  garbage = undefined;
  t.true(measuredHeapBytes() > low + MiB, 'the garbage is in the measured heap');
  const measured = heap.measure();
  t.is(heap.collections, 2);
  t.true(measured < low + MiB, `measured ${measured} after collecting, from ${low}`);
  t.is(live ?? garbage, undefined);
});
