// herald.js stays small: minified (esbuild) and gzipped under a budget.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { transform } from 'esbuild';
import { REPO } from './harness.mjs';

const BUDGET = 3072; // bytes, minified and gzipped

test(`herald.js minified and gzipped is under ${BUDGET} bytes`, async () => {
  const source = readFileSync(path.join(REPO, 'web', 'herald.js'), 'utf8');
  const { code } = await transform(source, { minify: true, format: 'esm', target: 'es2020' });
  const gzipped = gzipSync(code, { level: 9 }).length;
  console.log(`herald.js: ${source.length} B source, ${code.length} B minified, ${gzipped} B gzipped`);
  assert.ok(gzipped <= BUDGET, `${gzipped} B > ${BUDGET} B`);
});
