'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Database } = require('..');

function throwsCode(fn, code) {
  assert.throws(fn, (e) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test('graph: nodes, edges, walks, bi-temporal reads, transactions and errors', async () => {
  const db = Database.openInMemory();
  const g = db.graph('mem');
  db.transactionSync((tx) => {
    const tg = tx.graph('mem');
    for (const n of ['a', 'b', 'c']) tg.addNode(n, 'n', { name: n });
    tg.addEdge('a', 'next', 'b', { w: 1 });
    tg.addEdge('b', 'next', 'c', { w: 2 });
  });
  assert.deepEqual(g.getNode('a').props, { name: 'a' });
  assert.equal(g.getNode('zz'), null);
  assert.deepEqual(g.neighbors('a').map((n) => n.id), ['b']);
  assert.deepEqual(g.neighbors('b', { direction: 'in' }).map((n) => n.id), ['a']);
  assert.deepEqual(g.traverse('a', { depth: 2 }).map((v) => v.id), ['a', 'b', 'c']);
  assert.deepEqual(g.shortestPath('a', 'c', { depth: 3 }).nodes, ['a', 'b', 'c']);
  assert.equal(g.subgraph('b', { depth: 1, direction: 'both' }).nodes.length, 3);
  assert.deepEqual(g.neighbors('a', { filter: { w: { $gt: 5 } } }), []);

  g.addNode('x', 'person', { title: 'dev' }, { validFrom: 100 });
  const first = g.getNode('x');
  g.updateNode('x', { title: 'lead' }, { validFrom: 200 });
  assert.equal(g.getNode('x', { asOfValid: 150 }).props.title, 'dev');
  assert.equal(g.getNode('x', { asOfValid: 250 }).props.title, 'lead');
  assert.equal(g.getNode('x', { asOfValid: 250, asOfTx: first.tx_from }).props.title, 'dev');

  // A failed transaction leaves no edge behind.
  assert.throws(() =>
    db.transactionSync((tx) => {
      tx.graph('mem').addEdge('c', 'next', 'a');
      throw new Error('abort');
    }),
  );
  assert.deepEqual(g.neighbors('c'), []);

  throwsCode(() => g.addNode('a', 'n'), 'ALREADY_EXISTS');
  throwsCode(() => g.addEdge('a', 'next', 'ghost'), 'NOT_FOUND');
  throwsCode(() => g.traverse('a', { depth: 1000 }), 'INVALID_ARGUMENT');
  throwsCode(() => g.neighbors('a', { bogus: 1 }), 'INVALID_ARGUMENT');
  const raw = await db.graphCallAsync('mem', 'neighbors', JSON.stringify({ node: 'a' }));
  assert.deepEqual(JSON.parse(raw).map((n) => n.id), ['b']);
  throwsCode(() => db.graphCall('mem', 'neighbors', '{not json'), 'INVALID_ARGUMENT');
  assert.deepEqual(g.deleteNode('c'), { deleted: true });
  db.close();
});
