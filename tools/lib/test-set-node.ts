/** The shipped Fashion-MNIST test set, read in Node. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type TestSet, testSetFromIdx } from '../../src/data/idx';

export function loadTestSetNode(dir = join(process.cwd(), 'public', 'data')): TestSet {
  return testSetFromIdx(
    new Uint8Array(gunzipSync(readFileSync(join(dir, 't10k-images-idx3-ubyte.gz')))),
    new Uint8Array(gunzipSync(readFileSync(join(dir, 't10k-labels-idx1-ubyte.gz')))),
  );
}
