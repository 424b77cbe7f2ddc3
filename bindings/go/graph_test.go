package toondb

import (
	"errors"
	"testing"
)

func ids(t *testing.T, v any, key string) []string {
	t.Helper()
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(map[string]any)[key].(string))
	}
	return out
}

func TestGraph(t *testing.T) {
	db := memDB(t)
	g := db.Graph("mem")
	tx, err := db.Begin()
	must(t, err)
	tg := tx.Graph("mem")
	for _, n := range []string{"a", "b", "c"} {
		_, err := tg.AddNode(n, "n", map[string]any{"name": n}, nil)
		must(t, err)
	}
	_, err = tg.AddEdge("a", "next", "b", map[string]any{"w": 1}, nil)
	must(t, err)
	_, err = tg.AddEdge("b", "next", "c", nil, nil)
	must(t, err)
	if n, _ := g.GetNode("a", nil); n != nil {
		t.Fatal("visible before commit")
	}
	must(t, tx.Commit())

	n, err := g.GetNode("a", nil)
	must(t, err)
	if n.(map[string]any)["props"].(map[string]any)["name"] != "a" {
		t.Fatalf("node %v", n)
	}
	nb, err := g.Neighbors("a", nil)
	must(t, err)
	if got := ids(t, nb, "id"); len(got) != 1 || got[0] != "b" {
		t.Fatalf("neighbors %v", got)
	}
	tr, err := g.Traverse("a", Args{"depth": 2})
	must(t, err)
	if got := ids(t, tr, "id"); len(got) != 3 {
		t.Fatalf("traverse %v", got)
	}
	p, err := g.ShortestPath("a", "c", nil)
	must(t, err)
	if len(p.(map[string]any)["nodes"].([]any)) != 3 {
		t.Fatalf("path %v", p)
	}

	// Bi-temporal: what was true at a valid time.
	_, err = g.AddNode("x", "p", map[string]any{"t": "dev"}, Args{"valid_from": 100})
	must(t, err)
	_, err = g.UpdateNode("x", map[string]any{"t": "lead"}, Args{"valid_from": 200})
	must(t, err)
	old, err := g.GetNode("x", Args{"as_of_valid": 150})
	must(t, err)
	if old.(map[string]any)["props"].(map[string]any)["t"] != "dev" {
		t.Fatalf("as of 150: %v", old)
	}

	if _, err := g.AddNode("a", "n", nil, nil); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("want ErrAlreadyExists, got %v", err)
	}
	if _, err := g.AddEdge("a", "t", "ghost", nil, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if _, err := g.Traverse("a", Args{"depth": 1000}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("want ErrInvalidArgument, got %v", err)
	}
	if _, err := g.Call("nope", nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("want ErrInvalidArgument, got %v", err)
	}
}
