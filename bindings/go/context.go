package toondb

/*
#include <stdlib.h>
#include "toondb.h"
*/
import "C"

import "encoding/json"

// Message is one chat message of a history section.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Section is one part of a context; build them with SystemSection, HistorySection,
// SearchSection, SQLSection, KVPrefixSection and TextSection, then adjust Name, Priority
// and MaxTokens.
type Section struct {
	Type       string         `json:"type"`
	Name       string         `json:"name,omitempty"`
	Text       string         `json:"text,omitempty"`
	Messages   []Message      `json:"messages,omitempty"`
	Collection string         `json:"collection,omitempty"`
	Vector     []float32      `json:"vector,omitempty"`
	K          int            `json:"k,omitempty"`
	Filter     map[string]any `json:"filter,omitempty"`
	SQL        string         `json:"sql,omitempty"`
	Params     []any          `json:"params,omitempty"`
	Prefix     string         `json:"prefix,omitempty"`
	Priority   *int           `json:"priority,omitempty"`
	MaxTokens  int            `json:"max_tokens,omitempty"`
}

// SystemSection is the system prompt.
func SystemSection(text string) Section { return Section{Type: "system", Text: text} }

// TextSection is named free text.
func TextSection(name, text string) Section { return Section{Type: "text", Name: name, Text: text} }

// HistorySection is chat history.
func HistorySection(msgs ...Message) Section { return Section{Type: "history", Messages: msgs} }

// SearchSection retrieves k documents from a collection by text, vector or both (pass ""
// or nil to leave one out).
func SearchSection(collection, text string, vector []float32, k int) Section {
	return Section{Type: "search", Collection: collection, Text: text, Vector: vector, K: k}
}

// SQLSection includes the rows of a query under name.
func SQLSection(name, sql string, args ...any) Section {
	return Section{Type: "sql", Name: name, SQL: sql, Params: args}
}

// KVPrefixSection includes the key-value pairs under prefix.
func KVPrefixSection(name, prefix string) Section {
	return Section{Type: "kv_prefix", Name: name, Prefix: prefix}
}

// ContextSpec describes a context: sections assembled under a token budget.
type ContextSpec struct {
	Budget    int       `json:"budget,omitempty"`
	Tokenizer string    `json:"tokenizer,omitempty"`
	Sections  []Section `json:"sections"`
}

// SectionReport says what happened to one section.
type SectionReport struct {
	Name          string `json:"name"`
	Priority      int    `json:"priority"`
	Tokens        int    `json:"tokens"`
	ItemsIncluded int    `json:"items_included"`
	ItemsDropped  int    `json:"items_dropped"`
	Duplicates    int    `json:"duplicates"`
	Truncated     bool   `json:"truncated"`
}

// ContextResult is an assembled context encoded as TOON.
type ContextResult struct {
	Text        string          `json:"text"`
	TotalTokens int             `json:"total_tokens"`
	Budget      int             `json:"budget"`
	Tokenizer   string          `json:"tokenizer"`
	Sections    []SectionReport `json:"sections"`
}

func decodeContext(s string) (*ContextResult, error) {
	var r ContextResult
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, newErr(ErrInternal, err.Error())
	}
	return &r, nil
}

// Context assembles a token-budgeted context.
func (db *DB) Context(spec ContextSpec) (*ContextResult, error) {
	for i := range spec.Sections {
		if len(spec.Sections[i].Params) > 0 {
			enc, err := encodeArgs(spec.Sections[i].Params)
			if err != nil {
				return nil, err
			}
			spec.Sections[i].Params = enc
		}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, newErr(ErrInvalidArgument, err.Error())
	}
	s := cstr(string(b))
	defer free(s)
	var out *C.char
	if err := db.with(func(h *C.ToondbDatabase) C.int32_t { return C.toondb_context(h, s, &out) }); err != nil {
		return nil, err
	}
	return decodeContext(takeString(out))
}

// ContextQuery runs a CONTEXT SELECT statement.
func (db *DB) ContextQuery(statement string) (*ContextResult, error) {
	s := cstr(statement)
	defer free(s)
	var out *C.char
	if err := db.with(func(h *C.ToondbDatabase) C.int32_t { return C.toondb_context_query(h, s, &out) }); err != nil {
		return nil, err
	}
	return decodeContext(takeString(out))
}
