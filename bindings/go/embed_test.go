package toondb

import (
	"errors"
	"os"
	"testing"
)

func requireModel(t *testing.T) {
	if _, err := Embed([]string{"probe"}, ""); err != nil {
		if errors.Is(err, ErrNotFound) && os.Getenv("TOONDB_REQUIRE_MODEL") != "1" {
			t.Skip("no embedding model: ", err)
		}
		t.Fatal(err)
	}
}

func TestTextCollection(t *testing.T) {
	requireModel(t)
	v, err := Embed([]string{"How do I read a file?"}, "")
	if err != nil || len(v) != 1 || len(v[0]) != 384 {
		t.Fatalf("embed: %v %d", err, len(v))
	}
	db, err := OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.CreateCollection("docs", 384, Cosine)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetEmbedder(""); err != nil {
		t.Fatal(err)
	}
	err = c.UpsertTexts([]TextDocument{
		{ID: "a", Text: "The open() function opens a file and returns a file object."},
		{ID: "b", Text: "asyncio runs coroutines concurrently on an event loop.", Metadata: map[string]any{"topic": "async"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	hits, err := c.SearchText("run many network requests concurrently", 1, false)
	if err != nil || len(hits) != 1 || hits[0].ID != "b" {
		t.Fatalf("search: %v %+v", err, hits)
	}
	hits, err = c.SearchText("file object", 1, true)
	if err != nil || hits[0].ID != "a" {
		t.Fatalf("hybrid: %v %+v", err, hits)
	}
	if err := c.UpsertTexts([]TextDocument{{ID: "x", Text: "bad \xff utf8"}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	if err := c.UpsertTexts([]TextDocument{{ID: "x", Text: ""}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("empty text: %v", err)
	}
	if _, err := Embed([]string{"x"}, "/nonexistent/model"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing model: %v", err)
	}
}
