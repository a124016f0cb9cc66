// The flatbuffers runtime that classy web serves to browsers is the npm package's own, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = p => fileURLToPath(new URL(p, import.meta.url));

test('vendor/flatbuffers: every file equals node_modules/flatbuffers 25.9.23', () => {
  const installed = JSON.parse(readFileSync(here('../node_modules/flatbuffers/package.json')));
  assert.equal(installed.version, JSON.parse(readFileSync(here('../package.json'))).dependencies.flatbuffers);
  const files = readdirSync(here('../vendor/flatbuffers')).filter(f => f.endsWith('.js'));
  assert.ok(files.includes('flatbuffers.js'));
  for (const file of files) {
    assert.deepEqual(readFileSync(here(`../vendor/flatbuffers/${file}`)), readFileSync(here(`../node_modules/flatbuffers/mjs/${file}`)), file);
  }
  assert.deepEqual(readFileSync(here('../vendor/flatbuffers/LICENSE')), readFileSync(here('../node_modules/flatbuffers/LICENSE')));
  // Every module the entry point imports is vendored.
  for (const file of files) {
    for (const [, dep] of readFileSync(here(`../vendor/flatbuffers/${file}`), 'utf8').matchAll(/from '\.\/([^']+)'/g)) {
      assert.ok(existsSync(here(`../vendor/flatbuffers/${dep}`)), `${file} imports ${dep}`);
    }
  }
});
