'use strict';
// ToonDB for Node.js: loads the native addon and adds small JS conveniences.
const path = require('path');

function load() {
  const candidates = [
    process.env.TOONDB_NODE_ADDON,
    path.join(__dirname, 'toondb.node'),
  ].filter(Boolean);
  let lastErr;
  for (const p of candidates) {
    try {
      return require(p);
    } catch (e) {
      lastErr = e;
    }
  }
  throw new Error(
    'toondb: native addon not found; build it with `cargo build -p toondb-node` and copy ' +
      'lib toondb_node.so to crates/toondb-node/toondb.node (see docs/sdks.md): ' +
      (lastErr && lastErr.message),
  );
}

const native = load();
const { Database, Transaction, Collection, RowIter } = native;

// Argument-conversion failures raised by napi itself carry code 'InvalidArg'; report them
// like the engine's own invalid-argument errors, and make *Async methods always reject
// (never throw synchronously).
function normalize(e) {
  if (e && e.code === 'InvalidArg') e.code = 'INVALID_ARGUMENT';
  return e;
}
for (const cls of [Database, Transaction, Collection, RowIter]) {
  const proto = cls.prototype;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const desc = Object.getOwnPropertyDescriptor(proto, name);
    if (name === 'constructor' || typeof desc.value !== 'function') continue;
    const f = desc.value;
    proto[name] = name.endsWith('Async')
      ? function (...args) {
          try {
            return f.apply(this, args).catch((e) => Promise.reject(normalize(e)));
          } catch (e) {
            return Promise.reject(normalize(e));
          }
        }
      : function (...args) {
          try {
            return f.apply(this, args);
          } catch (e) {
            throw normalize(e);
          }
        };
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs fn(tx) in a transaction and commits it; rolls back if fn throws (or its promise
 * rejects). On a CONFLICT the whole transaction is retried (up to `attempts` times).
 */
Database.prototype.transaction = async function transaction(fn, { attempts = 10 } = {}) {
  let delay = 1;
  for (let attempt = 1; ; attempt++) {
    const tx = this.begin();
    try {
      const result = await fn(tx);
      tx.commit();
      return result;
    } catch (e) {
      tx.rollback();
      if (!(e && e.code === 'CONFLICT') || attempt >= attempts) throw e;
      await sleep(delay * (0.5 + Math.random() / 2));
      delay = Math.min(delay * 2, 64);
    }
  }
};

/** Synchronous variant of transaction(): fn must not be async. */
Database.prototype.transactionSync = function transactionSync(fn) {
  const tx = this.begin();
  try {
    const result = fn(tx);
    tx.commit();
    return result;
  } catch (e) {
    tx.rollback();
    throw e;
  }
};

/**
 * A graph namespace (docs/architecture/graph.md): nodes with a label and properties, directed
 * typed edges, bi-temporal versions. Options use the graph JSON interface's names
 * (validFrom/valid_from both accepted): valid_from, valid_to, as_of_valid, as_of_tx,
 * direction, edge_types, filter, depth, max_nodes, limit, order. On a Database, writes
 * auto-commit; on a Transaction they commit with it.
 */
class Graph {
  constructor(owner, namespace) {
    this.owner = owner;
    this.namespace = namespace;
  }
  call(op, args) {
    const snake = {};
    for (const [k, v] of Object.entries(args || {})) {
      if (v !== undefined) snake[k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())] = v;
    }
    return JSON.parse(this.owner.graphCall(this.namespace, op, JSON.stringify(snake)));
  }
  addNode(id, label, props, opts) { return this.call('add_node', { ...opts, id, label, props }); }
  updateNode(id, props, opts) { return this.call('update_node', { ...opts, id, props }); }
  deleteNode(id, opts) { return this.call('delete_node', { ...opts, id }); }
  addEdge(src, type, dst, props, opts) { return this.call('add_edge', { ...opts, src, type, dst, props }); }
  updateEdge(src, type, dst, props, opts) { return this.call('update_edge', { ...opts, src, type, dst, props }); }
  deleteEdge(src, type, dst, opts) { return this.call('delete_edge', { ...opts, src, type, dst }); }
  getNode(id, opts) { return this.call('get_node', { ...opts, id }); }
  getEdge(src, type, dst, opts) { return this.call('get_edge', { ...opts, src, type, dst }); }
  nodeHistory(id) { return this.call('node_history', { id }); }
  nodes(opts) { return this.call('nodes', { ...opts }); }
  neighbors(node, opts) { return this.call('neighbors', { ...opts, node }); }
  traverse(start, opts) { return this.call('traverse', { ...opts, start }); }
  shortestPath(start, target, opts) { return this.call('shortest_path', { ...opts, start, target }); }
  subgraph(start, opts) { return this.call('subgraph', { ...opts, start }); }
}

Database.prototype.graph = function graph(namespace) {
  return new Graph(this, namespace);
};
Transaction.prototype.graph = function graph(namespace) {
  return new Graph(this, namespace);
};


// ------------------------------------------------------------------ lazy rows, statements

/** RowIter is a JS iterator: `for (const row of db.queryIter(sql)) ...` (break closes it). */
RowIter.prototype[Symbol.iterator] = function* iterate() {
  try {
    for (;;) {
      const row = this.nextRow(this.raw === true);
      if (row === undefined) return;
      yield row;
    }
  } finally {
    this.close();
  }
};

/** Lazily iterates a query's rows (a generator; leaving the loop early stops the query). */
function iterateRows(owner, sql, params) {
  return owner.queryIter(sql, params)[Symbol.iterator]();
}
Database.prototype.iterate = function iterate(sql, params) { return iterateRows(this, sql, params); };
Transaction.prototype.iterate = function iterate(sql, params) { return iterateRows(this, sql, params); };

// A transactions calls are synchronous (it is used from one thread); its statements
// *Async methods return promises of the synchronous result.
function callAsync(owner, name, ...a) {
  if (typeof owner[name + 'Async'] === 'function') return owner[name + 'Async'](...a);
  return new Promise((resolve) => resolve(owner[name](...a)));
}

// stmt.run(1, 'a') and stmt.run([1, 'a']) bind the same parameters.
function bindArgs(args) {
  if (args.length === 1 && Array.isArray(args[0])) return args[0];
  return args;
}

/**
 * A statement prepared on a Database or Transaction, in the style of better-sqlite3:
 * `run(...params)` -> { changes, lastInsertRowid }, `get(...params)` -> first row or
 * undefined, `all(...params)` -> rows, `iterate(...params)` -> lazy rows; `raw()` returns
 * rows as arrays, `pluck()` just the first column. `*Async` variants run on the libuv pool.
 * The statement is parsed and planned by the engine when it runs (plans are cached by SQL
 * text), so a syntax error is reported by the first run.
 */
class Statement {
  constructor(owner, sql) {
    if (typeof sql !== 'string') {
      const e = new TypeError('prepare(sql): sql must be a string');
      e.code = 'INVALID_ARGUMENT';
      throw e;
    }
    this.owner = owner;
    this.source = sql;
    this.isRaw = false;
    this.isPluck = false;
  }
  raw(on = true) { this.isRaw = !!on; if (on) this.isPluck = false; return this; }
  pluck(on = true) { this.isPluck = !!on; if (on) this.isRaw = false; return this; }
  shape(row) {
    if (row === undefined) return undefined;
    if (this.isPluck) return row[0];
    return row;
  }
  run(...args) { return this.owner.run(this.source, bindArgs(args)); }
  runAsync(...args) { return callAsync(this.owner, 'run', this.source, bindArgs(args)); }
  *iterate(...args) {
    const it = this.owner.queryIter(this.source, bindArgs(args));
    const arrays = this.isRaw || this.isPluck;
    try {
      for (;;) {
        const row = it.nextRow(arrays);
        if (row === undefined) return;
        yield this.shape(row);
      }
    } finally {
      it.close();
    }
  }
  get(...args) {
    return this.shape(this.owner.queryFirst(this.source, bindArgs(args), this.isRaw || this.isPluck));
  }
  all(...args) { return Array.from(this.iterate(...args)); }
  async allAsync(...args) {
    const rows = await callAsync(this.owner, 'query', this.source, bindArgs(args));
    if (this.isRaw) return rows.map((r) => Object.values(r));
    if (this.isPluck) return rows.map((r) => Object.values(r)[0]);
    return rows;
  }
  getAsync(...args) {
    return callAsync(this.owner, 'queryFirst', this.source, bindArgs(args), this.isRaw || this.isPluck)
      .then((row) => this.shape(row));
  }
  /** Column names of the result (runs the query up to its first row). */
  columns(...args) {
    const it = this.owner.queryIter(this.source, bindArgs(args));
    try {
      return it.columns;
    } finally {
      it.close();
    }
  }
}
Database.prototype.prepare = function prepare(sql) { return new Statement(this, sql); };
Transaction.prototype.prepare = function prepare(sql) { return new Statement(this, sql); };

/** Embeds texts with the built-in model; one array of numbers per text. */
function embed(texts, model) {
  try {
    return native.embed(texts, model);
  } catch (e) {
    throw normalize(e);
  }
}

module.exports = { Database, Transaction, Collection, RowIter, Statement, Graph, embed, open: (p) => Database.open(p) };
