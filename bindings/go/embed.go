package toondb

/*
#include <stdlib.h>
#include "toondb.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// TextDocument is one document given as text, embedded by the collection's embedder.
type TextDocument struct {
	ID       string         `json:"id"`
	Text     string         `json:"text"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

func checkUTF8(what string, i int, s string) error {
	if !utf8.ValidString(s) {
		return newErr(ErrInvalidArgument, fmt.Sprintf("%s %d is not valid UTF-8", what, i))
	}
	return nil
}

// SetEmbedder attaches the built-in text embedder to the collection: the sentence-transformers
// model in modelDir, or ("") the default one (TOONDB_MODEL_DIR, else the model that
// `toondb model fetch` installed). ErrNotFound, with instructions, when there is no model.
func (c *Collection) SetEmbedder(modelDir string) error {
	n, m := cstr(c.name), optCstr(modelDir)
	defer free(n)
	defer free(m)
	return c.db.with(func(h *C.ToondbDatabase) C.int32_t {
		return C.toondb_collection_set_embedder(h, n, m)
	})
}

// UpsertTexts embeds the documents' texts and inserts or replaces them in one transaction.
// Texts that are empty or not valid UTF-8 give ErrInvalidArgument.
func (c *Collection) UpsertTexts(docs []TextDocument) error {
	for i, d := range docs {
		if err := checkUTF8("text", i, d.Text); err != nil {
			return err
		}
		if err := checkUTF8("id", i, d.ID); err != nil {
			return err
		}
	}
	b, err := json.Marshal(docs)
	if err != nil {
		return newErr(ErrInvalidArgument, err.Error())
	}
	n, items := cstr(c.name), cstr(string(b))
	defer free(n)
	defer free(items)
	return c.db.with(func(h *C.ToondbDatabase) C.int32_t {
		return C.toondb_upsert_texts(h, n, items)
	})
}

// SearchText returns the k documents nearest in meaning to text (its embedding); with
// hybrid, its keywords are ranked too and both rankings fused.
func (c *Collection) SearchText(text string, k int, hybrid bool, opts ...SearchOption) ([]Hit, error) {
	if err := checkUTF8("text", 0, text); err != nil {
		return nil, err
	}
	if k < 0 {
		return nil, newErr(ErrInvalidArgument, "k must not be negative")
	}
	filter, err := filterArg(opts)
	if err != nil {
		return nil, err
	}
	defer free(filter)
	n, t := cstr(c.name), cstr(text)
	defer free(n)
	defer free(t)
	var out *C.char
	if err := c.db.with(func(h *C.ToondbDatabase) C.int32_t {
		return C.toondb_search_text(h, n, t, C.size_t(k), C.bool(hybrid), filter, &out)
	}); err != nil {
		return nil, err
	}
	var hits []Hit
	if err := json.NewDecoder(strings.NewReader(takeString(out))).Decode(&hits); err != nil {
		return nil, newErr(ErrInternal, err.Error())
	}
	return hits, nil
}

// Embed embeds texts with the built-in model (modelDir "" for the default one): one vector
// per text, in order.
func Embed(texts []string, modelDir string) ([][]float32, error) {
	for i, t := range texts {
		if err := checkUTF8("text", i, t); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(texts)
	if err != nil {
		return nil, newErr(ErrInvalidArgument, err.Error())
	}
	m, in := optCstr(modelDir), cstr(string(b))
	defer free(m)
	defer free(in)
	var out *C.char
	if err := call(func() C.int32_t { return C.toondb_embed(m, in, &out) }); err != nil {
		return nil, err
	}
	var v [][]float32
	if err := json.Unmarshal([]byte(takeString(out)), &v); err != nil {
		return nil, newErr(ErrInternal, err.Error())
	}
	return v, nil
}
