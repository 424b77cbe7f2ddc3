'use strict';
// Copies the cargo-built addon (lib toondb_node.so/.dylib/.dll) next to index.js as toondb.node.
const fs = require('fs');
const path = require('path');
const profile = process.argv[2] || 'debug';
const root = path.resolve(__dirname, '..', '..', '..');
const target = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
const names = { linux: 'libtoondb_node.so', darwin: 'libtoondb_node.dylib', win32: 'toondb_node.dll' };
const src = path.join(target, profile, names[process.platform] || names.linux);
fs.copyFileSync(src, path.join(__dirname, '..', 'toondb.node'));
console.log(`copied ${src} -> toondb.node`);
