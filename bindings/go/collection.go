package toondb

/*
#include <stdlib.h>
#include "toondb.h"
*/
import "C"

import (
	"encoding/json"
	"strings"
)

// Metric names accepted by CreateCollection.
const (
	Cosine       = "cosine"
	L2           = "l2"
	InnerProduct = "ip"
)

// Document is one entry of a collection.
type Document struct {
	ID       string         `json:"id"`
	Vector   []float32      `json:"vector"`
	Text     string         `json:"text,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// Hit is one search result. Score: higher is better.
type Hit struct {
	ID           string         `json:"id"`
	Score        float32        `json:"score"`
	Distance     *float32       `json:"distance"`
	KeywordScore *float32       `json:"keyword_score"`
	Text         *string        `json:"text"`
	Metadata     map[string]any `json:"metadata"`
}

// Collection is a handle on a named collection.
type Collection struct {
	db   *DB
	name string
}

// CreateCollection creates a collection of dim-dimensional vectors (metric Cosine, L2 or
// InnerProduct).
func (db *DB) CreateCollection(name string, dim int, metric string) (*Collection, error) {
	if dim <= 0 {
		return nil, newErr(ErrInvalidArgument, "dimension must be positive")
	}
	n, m := cstr(name), optCstr(metric)
	defer free(n)
	defer free(m)
	if err := db.with(func(h *C.ToondbDatabase) C.int32_t {
		return C.toondb_create_collection(h, n, C.size_t(dim), m)
	}); err != nil {
		return nil, err
	}
	return &Collection{db: db, name: name}, nil
}

// Collection opens an existing collection (ErrNotFound if absent).
func (db *DB) Collection(name string) (*Collection, error) {
	c := &Collection{db: db, name: name}
	if _, err := c.Len(); err != nil {
		return nil, err
	}
	return c, nil
}

// ListCollections returns the collection names.
func (db *DB) ListCollections() ([]string, error) {
	var out *C.char
	if err := db.with(func(h *C.ToondbDatabase) C.int32_t { return C.toondb_list_collections(h, &out) }); err != nil {
		return nil, err
	}
	var names []string
	err := json.Unmarshal([]byte(takeString(out)), &names)
	return names, err
}

// DropCollection drops a collection and reports whether it existed.
func (db *DB) DropCollection(name string) (bool, error) {
	n := cstr(name)
	defer free(n)
	var existed C.bool
	err := db.with(func(h *C.ToondbDatabase) C.int32_t { return C.toondb_drop_collection(h, n, &existed) })
	return bool(existed), err
}

// Name is the collection name.
func (c *Collection) Name() string { return c.name }

// Len is the number of documents.
func (c *Collection) Len() (int, error) {
	n := cstr(c.name)
	defer free(n)
	var out C.size_t
	err := c.db.with(func(h *C.ToondbDatabase) C.int32_t { return C.toondb_collection_len(h, n, &out) })
	return int(out), err
}

// Upsert inserts or replaces a document.
func (c *Collection) Upsert(d Document) error {
	var meta *C.char
	if d.Metadata != nil {
		b, err := json.Marshal(d.Metadata)
		if err != nil {
			return newErr(ErrInvalidArgument, "metadata: "+err.Error())
		}
		meta = C.CString(string(b))
		defer free(meta)
	}
	n, id, text := cstr(c.name), cstr(d.ID), optCstr(d.Text)
	defer free(n)
	defer free(id)
	defer free(text)
	return c.db.with(func(h *C.ToondbDatabase) C.int32_t {
		return C.toondb_upsert(h, n, id, floatsPtr(d.Vector), C.size_t(len(d.Vector)), text, meta)
	})
}

// Get fetches a document (ErrNotFound if absent).
func (c *Collection) Get(id string) (*Document, error) {
	n, i := cstr(c.name), cstr(id)
	defer free(n)
	defer free(i)
	var out *C.char
	if err := c.db.with(func(h *C.ToondbDatabase) C.int32_t { return C.toondb_collection_get(h, n, i, &out) }); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, newErr(ErrNotFound, "document "+id)
	}
	var d Document
	if err := json.Unmarshal([]byte(takeString(out)), &d); err != nil {
		return nil, newErr(ErrInternal, err.Error())
	}
	return &d, nil
}

// Delete removes a document and reports whether it existed.
func (c *Collection) Delete(id string) (bool, error) {
	n, i := cstr(c.name), cstr(id)
	defer free(n)
	defer free(i)
	var existed C.bool
	err := c.db.with(func(h *C.ToondbDatabase) C.int32_t { return C.toondb_collection_delete(h, n, i, &existed) })
	return bool(existed), err
}

// SearchOption adjusts a search.
type SearchOption func(*searchOpts)

type searchOpts struct{ filter map[string]any }

// WithFilter restricts hits to documents whose metadata matches, e.g.
// {"lang": "en", "year": {"$gte": 2020}}; operators $eq $ne $gt $gte $lt $lte $in $nin
// $exists and $and/$or/$not.
func WithFilter(f map[string]any) SearchOption {
	return func(o *searchOpts) { o.filter = f }
}

// filterArg applies opts and returns the filter as a C string (nil without one); the caller
// frees it.
func filterArg(opts []SearchOption) (*C.char, error) {
	var o searchOpts
	for _, f := range opts {
		f(&o)
	}
	if o.filter == nil {
		return nil, nil
	}
	b, err := json.Marshal(o.filter)
	if err != nil {
		return nil, newErr(ErrInvalidArgument, "filter: "+err.Error())
	}
	return C.CString(string(b)), nil
}

func (c *Collection) search(vector []float32, useVector bool, text string, useText bool, k int, opts []SearchOption) ([]Hit, error) {
	if k < 0 {
		return nil, newErr(ErrInvalidArgument, "k must not be negative")
	}
	filter, err := filterArg(opts)
	if err != nil {
		return nil, err
	}
	defer free(filter)
	n := cstr(c.name)
	defer free(n)
	var t *C.char
	if useText {
		t = cstr(text)
		defer free(t)
	}
	var vp *C.float
	if useVector {
		if len(vector) == 0 {
			return nil, newErr(ErrInvalidArgument, "empty query vector")
		}
		vp = floatsPtr(vector)
	}
	var out *C.char
	if err := c.db.with(func(h *C.ToondbDatabase) C.int32_t {
		return C.toondb_search(h, n, vp, C.size_t(len(vector)), t, C.size_t(k), filter, &out)
	}); err != nil {
		return nil, err
	}
	var hits []Hit
	d := json.NewDecoder(strings.NewReader(takeString(out)))
	if err := d.Decode(&hits); err != nil {
		return nil, newErr(ErrInternal, err.Error())
	}
	return hits, nil
}

// Search returns the k nearest neighbours of vector.
func (c *Collection) Search(vector []float32, k int, opts ...SearchOption) ([]Hit, error) {
	return c.search(vector, true, "", false, k, opts)
}

// KeywordSearch ranks documents by BM25 over their text.
func (c *Collection) KeywordSearch(text string, k int, opts ...SearchOption) ([]Hit, error) {
	return c.search(nil, false, text, true, k, opts)
}

// HybridSearch fuses vector and keyword rankings (reciprocal rank fusion).
func (c *Collection) HybridSearch(text string, vector []float32, k int, opts ...SearchOption) ([]Hit, error) {
	return c.search(vector, true, text, true, k, opts)
}
