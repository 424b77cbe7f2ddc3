'use strict';
// SDK benchmark (not run by tests): toondb through Node vs better-sqlite3 for key-value
// put/get. `node bench/bench.js [N]`; better-sqlite3 is optional (npm i better-sqlite3@12
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
}

main();
