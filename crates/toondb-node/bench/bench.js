'use strict';
// SDK benchmark (not run by tests): toondb through Node vs better-sqlite3 for key-value
// put/get and for prepared SQL statements (inserts in a transaction, point queries). `node bench/bench.js [N]`; better-sqlite3 is optional (npm i better-sqlite3@12
// somewhere on NODE_PATH; v13 crashes on Node 20).
const { Database } = require('..');

const N = Number(process.argv[2] || 100000);
const VALUE = Buffer.from('value-0123456789');
const KEYS = Array.from({ length: N }, (_, i) => Buffer.from(`key${String(i).padStart(8, '0')}`));

function line(label, put, get) {
  console.log(`${label.padEnd(30)} put ${put.toFixed(0).padStart(10)}/s   get ${get.toFixed(0).padStart(10)}/s   (n=${N})`);
}

function time(f) {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function main() {
  console.log(`node ${process.version}`);
  const db = Database.openInMemory();
  const put = N / time(() => { for (const k of KEYS) db.put(k, VALUE); });
  const get = N / time(() => { for (const k of KEYS) db.get(k); });
  line('toondb node sync (in-memory)', put, get);
  const M = Math.min(N, 20000);
  let t = process.hrtime.bigint();
  await Promise.all(KEYS.slice(0, M).map((k) => db.putAsync(k, VALUE)));
  const aput = M / (Number(process.hrtime.bigint() - t) / 1e9);
  t = process.hrtime.bigint();
  await Promise.all(KEYS.slice(0, M).map((k) => db.getAsync(k)));
  const aget = M / (Number(process.hrtime.bigint() - t) / 1e9);
  console.log(`${'toondb node async (promises)'.padEnd(30)} put ${aput.toFixed(0).padStart(10)}/s   get ${aget.toFixed(0).padStart(10)}/s   (n=${M})`);
  db.close();

  let Sqlite;
  try {
    Sqlite = require('better-sqlite3');
  } catch (e) {
    console.log('better-sqlite3 not installed; skipped');
    return;
  }
  const s = new Sqlite(':memory:');
  s.exec('CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID');
  const ins = s.prepare('INSERT OR REPLACE INTO kv VALUES (?, ?)');
  const sel = s.prepare('SELECT v FROM kv WHERE k = ?');
  const sput = N / time(() => { for (const k of KEYS) ins.run(k, VALUE); });
  const sget = N / time(() => { for (const k of KEYS) sel.get(k); });
  line('better-sqlite3 (:memory:)', sput, sget);
  s.close();
  sqlStatements(Sqlite);
}

/**
 * The same prepared-statement code on both: inserts in one transaction, then point queries
 * by INTEGER PRIMARY KEY (`prepare(...).run/get`, better-sqlite3's API).
 */
function sqlStatements(Sqlite) {
  const n = Math.min(N, 100000);
  const run = (label, db, begin, commit) => {
    db.prepare('CREATE TABLE person(id INTEGER PRIMARY KEY, name TEXT, age INTEGER)').run();
    const ins = db.prepare('INSERT INTO person VALUES (?, ?, ?)');
    const ti = time(() => {
      begin();
      for (let i = 0; i < n; i++) ins.run(i, `name${i}`, i % 90);
      commit();
    });
    const sel = db.prepare('SELECT name, age FROM person WHERE id = ?');
    let q = 0;
    const tq = time(() => { for (let i = 0; i < n; i += 7) { sel.get(i); q++; } });
    console.log(`${label.padEnd(30)} insert ${(n / ti).toFixed(0).padStart(10)}/s   point get ${(q / tq).toFixed(0).padStart(10)}/s   (n=${n})`);
    return [n / ti, q / tq];
  };
  const t = Database.openInMemory();
  let tx = null;
  // ToonDB: the statements of a transaction are prepared on the transaction.
  const toon = {
    prepare: (sql) => ({
      run: (...a) => (tx || t).prepare(sql).run(...a),
      get: (...a) => (tx || t).prepare(sql).get(...a),
    }),
  };
  const [ti, tq] = run('toondb prepared', toon, () => { tx = t.begin(); }, () => { tx.commit(); tx = null; });
  t.close();
  const s = new Sqlite(':memory:');
  const [si, sq] = run('better-sqlite3 prepared', s, () => s.exec('BEGIN'), () => s.exec('COMMIT'));
  s.close();
  console.log(`${'ratio better-sqlite3/toondb'.padEnd(30)} insert ${(si / ti).toFixed(2).padStart(10)}x   point get ${(sq / tq).toFixed(2).padStart(10)}x`);
}

main();
