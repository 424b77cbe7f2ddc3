package toondb

import (
	"fmt"
	"testing"
)

// Benchmarks (run with: go test -run '^$' -bench . ); not part of the test run.

func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("key%08d", i))
	}
	return keys
}

var benchValue = []byte("value-0123456789")

func BenchmarkPut(b *testing.B) {
	db, err := OpenInMemory()
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	keys := benchKeys(1 << 16)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.Put(keys[i&(1<<16-1)], benchValue); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	db, err := OpenInMemory()
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	keys := benchKeys(1 << 16)
	for _, k := range keys {
		if err := db.Put(k, benchValue); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Get(keys[i&(1<<16-1)]); err != nil {
			b.Fatal(err)
		}
	}
}
