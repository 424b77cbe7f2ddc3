'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker } = require('worker_threads');
const toondb = require('..');
const { Database } = toondb;

function tmpdir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'toondb-node-'));
}

function throwsCode(fn, code) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test('kv put/get/delete/scan with buffers and strings', () => {
  const db = Database.openInMemory();
  db.put('a', 'one');
  db.put(Buffer.from('p/2'), Buffer.from([0, 255]));
  db.put('p/1', '');
  assert.deepEqual(db.get('a'), Buffer.from('one'));
  assert.deepEqual(db.get('p/1'), Buffer.alloc(0));
  assert.equal(db.get('missing'), null);
  const pairs = db.scanPrefix('p/');
  assert.deepEqual(pairs.map((p) => p.key.toString()), ['p/1', 'p/2']);
  assert.deepEqual(pairs[1].value, Buffer.from([0, 255]));
  db.delete('a');
  assert.equal(db.get('a'), null);
  db.close();
});

test('reopen persists and a second handle is BUSY', () => {
  const dir = tmpdir();
  const db = Database.open(dir);
  db.put('k', 'durable');
  db.execute('CREATE TABLE t(x INTEGER)');
  db.execute('INSERT INTO t VALUES (?)', [7]);
  throwsCode(() => Database.open(dir), 'BUSY');
  db.close();
  const db2 = toondb.open(dir);
  assert.equal(db2.get('k').toString(), 'durable');
  assert.deepEqual(db2.query('SELECT x FROM t'), [{ x: 7 }]);
  db2.close();
});

test('openReadOnly reads beside a writer and refuses writes', () => {
  const dir = tmpdir();
  const db = Database.open(dir);
  db.put('k', 'v');
  const ro = Database.openReadOnly(dir);
  assert.equal(ro.get('k').toString(), 'v');
  throwsCode(() => ro.put('x', 'y'), 'UNSUPPORTED');
  ro.close();
  db.close();
});

test('closed database raises CLOSED (sync and async)', async () => {
  const db = Database.openInMemory();
  const c = db.createCollection('c', 2);
  const tx = db.begin();
  db.close();
  db.close();
  assert.equal(db.closed, true);
  throwsCode(() => db.get('a'), 'CLOSED');
  throwsCode(() => db.put('a', 'b'), 'CLOSED');
  throwsCode(() => db.query('SELECT 1'), 'CLOSED');
  throwsCode(() => c.search([1, 0], 1), 'CLOSED');
  throwsCode(() => tx.put('a', 'b'), 'CLOSED');
  await assert.rejects(db.getAsync('a'), { code: 'CLOSED' });
});

test('transactions: commit, rollback, conflict, helper retries', async () => {
  const db = Database.openInMemory();
  db.put('k', '0');
  const t1 = db.begin();
  const t2 = db.begin();
  t1.put('k', '1');
  assert.equal(t1.get('k').toString(), '1');
  assert.equal(db.get('k').toString(), '0');
  t2.put('k', '2');
  t1.commit();
  throwsCode(() => t2.commit(), 'CONFLICT');
  assert.equal(db.get('k').toString(), '1');
  throwsCode(() => t1.commit(), 'INVALID_ARGUMENT');

  db.execute('CREATE TABLE audit(msg TEXT)');
  await assert.rejects(
    db.transaction(async (tx) => {
      tx.put('gone', 'x');
      tx.execute('INSERT INTO audit VALUES (?)', ['lost']);
      throw new Error('abort');
    }),
    /abort/,
  );
  assert.equal(db.get('gone'), null);
  assert.deepEqual(db.query('SELECT count(*) AS n FROM audit'), [{ n: 0 }]);
  const v = db.transactionSync((tx) => {
    tx.execute('INSERT INTO audit VALUES (?)', ['kept']);
    return tx.query('SELECT msg FROM audit')[0].msg;
  });
  assert.equal(v, 'kept');

  // Concurrent read-modify-write transactions interleaved on the event loop.
  db.put('counter', '0');
  await Promise.all(
    Array.from({ length: 20 }, () =>
      db.transaction(async (tx) => {
        const n = Number(tx.get('counter').toString());
        await new Promise((r) => setImmediate(r));
        tx.put('counter', String(n + 1));
      }, { attempts: 100 }),
    ),
  );
  assert.equal(db.get('counter').toString(), '20');
  db.close();
});

test('sql types, params and error codes', () => {
  const db = Database.openInMemory();
  db.execute('CREATE TABLE t(id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB)');
  const n = db.execute('INSERT INTO t(i, r, s, b) VALUES (?, ?, ?, ?), (?, ?, ?, ?)', [
    7, 2.5, 'héllo', Buffer.from([1, 2]), 9007199254740993n, undefined, null, true,
  ]);
  assert.equal(n, 2);
  const rows = db.query('SELECT i, r, s, b FROM t ORDER BY id');
  assert.deepEqual(rows[0], { i: 7, r: 2.5, s: 'héllo', b: Buffer.from([1, 2]) });
  assert.equal(rows[1].i, 9007199254740993n); // beyond 2^53 comes back as bigint
  assert.equal(rows[1].r, null);
  assert.equal(rows[1].s, null);
  assert.equal(rows[1].b, 1);
  throwsCode(() => db.query('SELEC 1'), 'INVALID_ARGUMENT');
  throwsCode(() => db.query('SELECT * FROM nope'), 'NOT_FOUND');
  throwsCode(() => db.execute('INSERT INTO t(id) VALUES (1)'), 'CONSTRAINT');
  throwsCode(() => db.execute('CREATE TABLE t(x)'), 'ALREADY_EXISTS');
  throwsCode(() => db.execute('INSERT INTO t(i) VALUES (?)', [{ a: 1 }]), 'INVALID_ARGUMENT');
  throwsCode(() => db.execute('INSERT INTO t(i) VALUES (?, ?)', [1]), 'INVALID_ARGUMENT');
  throwsCode(() => db.put(42, 'x'), 'INVALID_ARGUMENT');
  db.close();
});

test('collections: vector, keyword, hybrid, filters, bad input', async () => {
  const db = Database.openInMemory();
  const c = db.createCollection('docs', 3, 'cosine');
  c.upsertMany([
    { id: 'a', vector: new Float32Array([1, 0, 0]), text: 'Rust storage engines', metadata: { lang: 'en', year: 2021 } },
    { id: 'b', vector: new Float64Array([0, 1, 0]), text: 'Vector search with HNSW', metadata: { lang: 'en', year: 2024 } },
  ]);
  await c.upsertManyAsync([{ id: 'c', vector: [0, 0, 1], text: 'Datenbanken in Rust', metadata: { lang: 'de', year: 2023 } }]);
  assert.equal(c.len(), 3);
  assert.equal(c.dim, 3);
  const hits = c.search([0.9, 0.1, 0], 2);
  assert.deepEqual(hits.map((h) => h.id), ['a', 'b']);
  assert.ok(hits[0].score > hits[1].score);
  const ids = (f) => c.search([1, 1, 1], 10, { filter: f }).map((h) => h.id).sort();
  assert.deepEqual(ids({ lang: 'en' }), ['a', 'b']);
  assert.deepEqual(ids({ year: { $gte: 2023 } }), ['b', 'c']);
  assert.deepEqual(ids({ $or: [{ lang: 'de' }, { year: 2021 }] }), ['a', 'c']);
  assert.deepEqual(ids({ lang: { $nin: ['en'] } }), ['c']);
  const kw = c.keywordSearch('rust', 5);
  assert.deepEqual(kw.map((h) => h.id).sort(), ['a', 'c']);
  assert.ok(kw.every((h) => h.keywordScore !== null));
  const hy = await c.hybridSearchAsync('rust', [0, 0, 1], 3);
  assert.equal(hy[0].id, 'c');
  const hyEn = c.hybridSearch('rust', [0, 0, 1], 3, { filter: { lang: 'en' } });
  assert.ok(hyEn.length > 0 && hyEn.every((h) => h.metadata.lang === 'en'));
  assert.equal(c.get('a').text, 'Rust storage engines');
  assert.equal(c.get('zz'), null);
  assert.equal(c.delete('a'), true);
  assert.equal(c.delete('a'), false);
  throwsCode(() => c.upsert({ id: 'x', vector: [1, 2] }), 'INVALID_ARGUMENT');
  throwsCode(() => c.search([1, 2, 3, 4], 1), 'INVALID_ARGUMENT');
  throwsCode(() => c.upsert({ id: 'x', vector: 'abc' }), 'INVALID_ARGUMENT');
  throwsCode(() => c.upsert({ id: 'x', vector: [1, 0, 0], metadata: [1] }), 'INVALID_ARGUMENT');
  throwsCode(() => c.search([1, 0, 0], 1, { filter: { y: { $regex: 'a' } } }), 'INVALID_ARGUMENT');
  await assert.rejects(c.searchAsync('nope', 1), { code: 'INVALID_ARGUMENT' });
  throwsCode(() => db.createCollection('docs', 3), 'ALREADY_EXISTS');
  throwsCode(() => db.collection('nope'), 'NOT_FOUND');
  throwsCode(() => db.createCollection('m', 3, 'manhattan'), 'INVALID_ARGUMENT');
  assert.deepEqual(db.listCollections(), ['docs']);
  assert.equal(db.dropCollection('docs'), true);
  db.close();
});

test('context builder and CONTEXT SELECT', async () => {
  const db = Database.openInMemory();
  const c = db.createCollection('docs', 3);
  c.upsert({ id: 'a', vector: [1, 0, 0], text: 'Rust storage engines' });
  c.upsert({ id: 'b', vector: [0, 1, 0], text: 'Vector search with HNSW' });
  db.execute('CREATE TABLE orders(id INTEGER PRIMARY KEY, item TEXT, total REAL)');
  db.execute('INSERT INTO orders(item, total) VALUES (?, ?), (?, ?)', ['book', 12.5, 'pen', 2]);
  const r = db.context({
    budget: 300,
    sections: [
      { type: 'system', text: 'Answer using the documents.' },
      { type: 'history', messages: [{ role: 'user', content: 'What is HNSW?' }] },
      { type: 'search', collection: 'docs', text: 'vector search', vector: [0, 1, 0], k: 2, name: 'docs' },
      { type: 'sql', name: 'orders', sql: 'SELECT item, total FROM orders WHERE total > ? ORDER BY id', params: [1] },
    ],
  });
  assert.ok(r.totalTokens <= 300);
  assert.ok(r.text.startsWith('system: Answer using the documents.'));
  assert.ok(r.text.includes('orders[2]{item,total}:'));
  assert.deepEqual(r.sections.map((s) => s.name), ['system', 'history', 'docs', 'orders']);
  const q = await db.contextQueryAsync("CONTEXT SELECT SYSTEM 'Be brief.', SEARCH docs 'rust' K 2 AS docs BUDGET 100");
  assert.ok(q.totalTokens <= 100 && q.text.includes('Rust storage engines'));
  const rows = db.query("CONTEXT SELECT SYSTEM 'Be brief.' BUDGET 50");
  assert.equal(typeof rows[0].context, 'string');
  throwsCode(() => db.contextQuery('CONTEXT SELECT BUDGET'), 'INVALID_ARGUMENT');
  throwsCode(() => db.context({ sections: [{ type: 'bogus' }] }), 'INVALID_ARGUMENT');
  throwsCode(() => db.context({ sections: [{ type: 'search', collection: 'nope', text: 'x' }] }), 'NOT_FOUND');
  db.close();
});

test('concurrent promises on the libuv pool', async () => {
  const db = Database.openInMemory();
  await Promise.all(Array.from({ length: 200 }, (_, i) => db.putAsync(`k${i}`, `v${i}`)));
  const vals = await Promise.all(Array.from({ length: 200 }, (_, i) => db.getAsync(`k${i}`)));
  vals.forEach((v, i) => assert.equal(v.toString(), `v${i}`));
  assert.equal((await db.scanPrefixAsync('k')).length, 200);
  db.execute('CREATE TABLE t(x INTEGER)');
  await Promise.all(Array.from({ length: 50 }, (_, i) => db.executeAsync('INSERT INTO t VALUES (?)', [i])));
  const [{ n }] = await db.queryAsync('SELECT count(*) AS n FROM t');
  assert.equal(n, 50);
  db.close();
});

test('worker threads each use the addon', async () => {
  const dir = tmpdir();
  const code = `
    const { workerData, parentPort } = require('worker_threads');
    const { Database } = require(${JSON.stringify(path.join(__dirname, '..'))});
    const db = Database.open(workerData.dir);
    for (let i = 0; i < 50; i++) db.put('w' + workerData.id + '/' + i, String(i));
    parentPort.postMessage(db.scanPrefix('w' + workerData.id + '/').length);
    db.close();
  `;
  const counts = await Promise.all(
    [0, 1, 2].map(
      (id) =>
        new Promise((resolve, reject) => {
          const w = new Worker(code, { eval: true, workerData: { dir: path.join(dir, String(id)), id } });
          w.on('message', resolve);
          w.on('error', reject);
        }),
    ),
  );
  assert.deepEqual(counts, [50, 50, 50]);
});

test('error codes carry the engine kind (conflict, constraint, closed), also via the shared FFI helpers', async () => {
  const db = Database.openInMemory();
  db.execute('CREATE TABLE u(id INTEGER PRIMARY KEY, name TEXT UNIQUE)');
  db.execute("INSERT INTO u(name) VALUES ('a')");
  throwsCode(() => db.execute("INSERT INTO u(name) VALUES ('a')"), 'CONSTRAINT');

  const t1 = db.begin();
  const t2 = db.begin();
  t1.execute("UPDATE u SET name = 'b' WHERE id = 1");
  t2.execute("UPDATE u SET name = 'c' WHERE id = 1");
  t1.commit();
  throwsCode(() => t2.commit(), 'CONFLICT');

  // Context specs are parsed and run by toondb::json; its errors keep their kind in Node too
  // (they used to become INVALID_ARGUMENT unless NOT_FOUND).
  throwsCode(
    () => db.context({ budget: 100, sections: [{ type: 'search', collection: 'nope', text: 'x', k: 1 }] }),
    'NOT_FOUND',
  );
  throwsCode(() => db.context({ budget: 100, sections: [{ type: 'bogus' }] }), 'INVALID_ARGUMENT');

  db.close();
  throwsCode(() => db.query('SELECT 1'), 'CLOSED');
  await assert.rejects(db.queryAsync('SELECT 1'), { code: 'CLOSED' });
});
