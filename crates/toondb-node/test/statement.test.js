'use strict';
// Prepared statements (better-sqlite3 style), lazy row iterators and run() results.
const test = require('node:test');
const assert = require('node:assert');
const { Database, RowIter, Statement } = require('..');

function fresh() {
  const db = Database.openInMemory();
  db.execute('CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, raw BLOB)');
  return db;
}

test('prepare: run/get/all/iterate, raw and pluck', () => {
  const db = fresh();
  const ins = db.prepare('INSERT INTO t(name, score, raw) VALUES (?, ?, ?)');
  assert.ok(ins instanceof Statement);
  const r1 = ins.run('ann', 1.5, Buffer.from([1, 2]));
  assert.deepStrictEqual(r1, { changes: 1, lastInsertRowid: 1 });
  assert.deepStrictEqual(ins.run(['bob', 2.5, null]), { changes: 1, lastInsertRowid: 2 });
  assert.deepStrictEqual(db.run('UPDATE t SET score = score * 2'), { changes: 2, lastInsertRowid: null });

  const byId = db.prepare('SELECT name, score, raw FROM t WHERE id = ?');
  assert.deepStrictEqual(byId.get(1), { name: 'ann', score: 3, raw: Buffer.from([1, 2]) });
  assert.strictEqual(byId.get(99), undefined);
  const all = db.prepare('SELECT id, name FROM t ORDER BY id');
  assert.deepStrictEqual(all.all(), [{ id: 1, name: 'ann' }, { id: 2, name: 'bob' }]);
  assert.deepStrictEqual(all.raw().all(), [[1, 'ann'], [2, 'bob']]);
  assert.deepStrictEqual(db.prepare('SELECT name FROM t ORDER BY id DESC').pluck().all(), ['bob', 'ann']);
  assert.strictEqual(db.prepare('SELECT count(*) FROM t').pluck().get(), 2);
  const names = [];
  for (const row of db.prepare('SELECT name FROM t WHERE score > ? ORDER BY id').iterate(0)) names.push(row.name);
  assert.deepStrictEqual(names, ['ann', 'bob']);
  assert.deepStrictEqual(db.prepare('SELECT id, name FROM t').columns(), ['id', 'name']);
  db.close();
});

test('errors carry codes; a syntax error surfaces on first run', () => {
  const db = fresh();
  const bad = db.prepare('SELEC 1');
  assert.throws(() => bad.all(), (e) => e.code === 'INVALID_ARGUMENT');
  assert.throws(() => bad.get(), (e) => e.code === 'INVALID_ARGUMENT');
  assert.throws(() => db.prepare(42), (e) => e.code === 'INVALID_ARGUMENT');
  db.run('INSERT INTO t(id, name) VALUES (1, ?)', ['x']);
  assert.throws(() => db.prepare('INSERT INTO t(id) VALUES (?)').run(1), (e) => e.code === 'CONSTRAINT');
  db.close();
  assert.throws(() => db.prepare('SELECT 1').get(), (e) => e.code === 'CLOSED');
});

test('queryIter streams: early exit closes, large results stay lazy', () => {
  const db = fresh();
  const it = db.queryIter('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c');
  assert.ok(it instanceof RowIter);
  assert.deepStrictEqual(it.columns, ['x']);
  let seen = 0;
  for (const row of it) {
    seen += 1;
    assert.strictEqual(row.x, seen);
    if (seen === 1000) break; // an endless query: only laziness lets this finish
  }
  assert.strictEqual(seen, 1000);
  assert.strictEqual(it.nextRow(), undefined); // closed by leaving the loop
  const gen = db.iterate('SELECT ? AS a UNION ALL SELECT ?', [1, 2]);
  assert.deepStrictEqual(Array.from(gen).map((r) => r.a), [1, 2]);
  const raw = db.queryIter('SELECT 1 AS a, 2 AS b');
  assert.deepStrictEqual(raw.nextRow(true), [1, 2]);
  assert.strictEqual(raw.nextRow(true), undefined);
  db.close();
});

test('statements inside a transaction see its writes; async variants', async () => {
  const db = fresh();
  const tx = db.begin();
  const ins = tx.prepare('INSERT INTO t(name) VALUES (?)');
  assert.deepStrictEqual(ins.run('in-tx'), { changes: 1, lastInsertRowid: 1 });
  assert.strictEqual(tx.prepare('SELECT count(*) FROM t').pluck().get(), 1);
  assert.deepStrictEqual(Array.from(tx.iterate('SELECT name FROM t')), [{ name: 'in-tx' }]);
  assert.strictEqual(db.prepare('SELECT count(*) FROM t').pluck().get(), 0);
  assert.deepStrictEqual(await ins.runAsync('second'), { changes: 1, lastInsertRowid: 2 });
  tx.commit();
  const q = db.prepare('SELECT name FROM t ORDER BY id');
  assert.deepStrictEqual(await q.allAsync(), [{ name: 'in-tx' }, { name: 'second' }]);
  assert.deepStrictEqual(await q.pluck().getAsync(), 'in-tx');
  assert.deepStrictEqual(await db.prepare('INSERT INTO t(name) VALUES (?)').runAsync('x'), { changes: 1, lastInsertRowid: 3 });
  await assert.rejects(db.prepare('SELEC').allAsync(), (e) => e.code === 'INVALID_ARGUMENT');
  db.close();
});
