package toondb

/*
#include <stdlib.h>
#include "toondb.h"
*/
import "C"

import (
	"encoding/json"
)

// Graph is a graph namespace (docs/architecture/graph.md): nodes with a label and properties,
// directed typed edges, bi-temporal versions. Operations take the graph JSON interface's
// argument names (id, label, props, src, type, dst, valid_from, valid_to, as_of_valid,
// as_of_tx, direction, edge_types, filter, depth, max_nodes, limit, order) and return the
// decoded JSON result. On a DB writes auto-commit; on a Tx they commit with it.
type Graph struct {
	db        *DB
	tx        *Tx
	Namespace string
}

// Graph returns the graph namespace ns.
func (db *DB) Graph(ns string) *Graph { return &Graph{db: db, Namespace: ns} }

// Graph returns the graph namespace ns inside the transaction.
func (tx *Tx) Graph(ns string) *Graph { return &Graph{tx: tx, Namespace: ns} }

// Args are the arguments of a graph operation.
type Args = map[string]any

// Call runs one operation of the graph JSON interface (e.g. "neighbors") and returns its
// result decoded into `any` (nil when a get finds nothing).
func (g *Graph) Call(op string, args Args) (any, error) {
	raw, err := g.CallRaw(op, args)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, newErr(ErrInternal, "graph result is not JSON: "+err.Error())
	}
	return out, nil
}

// CallRaw is Call returning the result's JSON text.
func (g *Graph) CallRaw(op string, args Args) (string, error) {
	if args == nil {
		args = Args{}
	}
	b, err := json.Marshal(args)
	if err != nil {
		return "", newErr(ErrInvalidArgument, err.Error())
	}
	a := cstr(string(b))
	defer free(a)
	ns := cstr(g.Namespace)
	defer free(ns)
	o := cstr(op)
	defer free(o)
	var out *C.char
	var tg target = g.db
	if g.tx != nil {
		tg = g.tx
	}
	err = run(tg, func(h *C.ToondbDatabase, t *C.ToondbTxn) C.int32_t {
		if t != nil {
			return C.toondb_txn_graph_call(t, ns, o, a, &out)
		}
		return C.toondb_graph_call(h, ns, o, a, &out)
	})
	if err != nil {
		return "", err
	}
	return takeString(out), nil
}

func with(args Args, kv ...any) Args {
	out := Args{}
	for k, v := range args {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// AddNode adds a node (opts: valid_from, valid_to).
func (g *Graph) AddNode(id, label string, props map[string]any, opts Args) (any, error) {
	return g.Call("add_node", with(opts, "id", id, "label", label, "props", props))
}

// UpdateNode replaces a node's properties (opts: label, valid_from, valid_to).
func (g *Graph) UpdateNode(id string, props map[string]any, opts Args) (any, error) {
	return g.Call("update_node", with(opts, "id", id, "props", props))
}

// DeleteNode ends a node and its edges.
func (g *Graph) DeleteNode(id string, opts Args) (any, error) {
	return g.Call("delete_node", with(opts, "id", id))
}

// AddEdge adds the edge src -[edgeType]-> dst.
func (g *Graph) AddEdge(src, edgeType, dst string, props map[string]any, opts Args) (any, error) {
	return g.Call("add_edge", with(opts, "src", src, "type", edgeType, "dst", dst, "props", props))
}

// DeleteEdge ends an edge.
func (g *Graph) DeleteEdge(src, edgeType, dst string, opts Args) (any, error) {
	return g.Call("delete_edge", with(opts, "src", src, "type", edgeType, "dst", dst))
}

// GetNode returns the node (nil if absent; opts: as_of_valid, as_of_tx).
func (g *Graph) GetNode(id string, opts Args) (any, error) {
	return g.Call("get_node", with(opts, "id", id))
}

// Neighbors returns the neighbours of node (opts: direction, edge_types, filter, limit, ...).
func (g *Graph) Neighbors(node string, opts Args) (any, error) {
	return g.Call("neighbors", with(opts, "node", node))
}

// Traverse walks from start (opts: depth, order, max_nodes, ...).
func (g *Graph) Traverse(start string, opts Args) (any, error) {
	return g.Call("traverse", with(opts, "start", start))
}

// ShortestPath returns {nodes, edges} or nil.
func (g *Graph) ShortestPath(start, target string, opts Args) (any, error) {
	return g.Call("shortest_path", with(opts, "start", start, "target", target))
}

// Subgraph returns the nodes within depth of start and the edges among them.
func (g *Graph) Subgraph(start string, opts Args) (any, error) {
	return g.Call("subgraph", with(opts, "start", start))
}
