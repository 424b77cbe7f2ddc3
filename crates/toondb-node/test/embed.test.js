'use strict';
// Built-in embeddings: Chroma-style add/query and typed errors. Skipped without a model
// unless TOONDB_REQUIRE_MODEL=1 (set by scripts/test-all.sh after `toondb model fetch`).
const test = require('node:test');
const assert = require('node:assert/strict');
const toondb = require('..');
const { Database } = toondb;

function haveModel(t) {
  try {
    toondb.embed(['probe']);
    return true;
  } catch (e) {
    if (e.code !== 'NOT_FOUND' || process.env.TOONDB_REQUIRE_MODEL === '1') throw e;
    t.skip(`no embedding model: ${e.message}`);
    return false;
  }
}

test('embed, add and query by text', (t) => {
  if (!haveModel(t)) return;
  const v = toondb.embed(['How do I read a file?', 'asyncio event loop']);
  assert.equal(v.length, 2);
  assert.equal(v[0].length, 384);
  const db = Database.openInMemory();
  const col = db.createCollection('docs', 384);
  col.setEmbedder();
  col.add({
    ids: ['a', 'b'],
    documents: [
      'The open() function opens a file and returns a file object.',
      'asyncio runs coroutines concurrently on an event loop.',
    ],
    metadatas: [{ topic: 'io' }, null],
  });
  const r = col.query({ queryTexts: ['run many network requests concurrently'], nResults: 1 });
  assert.deepEqual(r.ids, [['b']]);
  assert.equal(col.searchText('file object', 1)[0].id, 'a');
  assert.throws(() => col.add({ ids: ['x'], documents: [''] }), (e) => e.code === 'INVALID_ARGUMENT');
  assert.throws(() => toondb.embed(['x'], '/nonexistent/model'), (e) => e.code === 'NOT_FOUND');
  db.close();
});
