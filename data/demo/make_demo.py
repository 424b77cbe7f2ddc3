#!/usr/bin/env python3
"""Extract the ToonDB demo data set from the minilm-20k vector data set.

Usage (standard library only, ~10 s):

    python3 data/demo/make_demo.py --src /path/to/minilm-20k --out data/demo

What it writes (all little-endian):

- passages.jsonl : the first N_PASSAGES lines of texts.jsonl (minilm-20k's base
                   set is already a seeded random permutation of the corpus, so
                   its first 2,000 rows are a uniform random sample), each as
                   {"id", "text", "source", "section", "words"} where `section`
                   is the first path component of `source` ("library",
                   "whatsnew", ...; "top" for top-level pages) and `words` the
                   whitespace word count.
- passages.fvecs : the matching first N_PASSAGES vectors of base.fvecs,
                   copied byte for byte (int32 dim=384, then 384 float32 each).
- queries.jsonl  : N_QUERIES queries: the first ones, in file order, of
                   minilm-20k's queries.jsonl whose best cosine against the
                   2,000 demo passages is >= MIN_TOP1 (so that every demo query
                   has a genuinely related passage); each as
                   {"id", "source_query_id", "text", "source", "nearest"} where
                   `nearest` lists the ids of the exact top-10 passages by
                   cosine (float64, ties broken by smaller id) within the demo
                   set.
- queries.fvecs  : the matching query vectors, copied byte for byte.
"""
import argparse, json, os, struct

N_PASSAGES = 2000
N_QUERIES = 10
MIN_TOP1 = 0.55
DIM = 384
REC = 4 + 4 * DIM  # bytes per .fvecs record


def read_fvecs(path, n=None):
    out = []
    with open(path, "rb") as f:
        while n is None or len(out) < n:
            rec = f.read(REC)
            if not rec:
                break
            (d,) = struct.unpack_from("<i", rec, 0)
            assert d == DIM and len(rec) == REC, "unexpected .fvecs layout"
            out.append((rec, struct.unpack_from("<%df" % DIM, rec, 4)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", required=True, help="minilm-20k directory")
    ap.add_argument("--out", required=True, help="output directory")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    base = read_fvecs(os.path.join(a.src, "base.fvecs"), N_PASSAGES)
    passages = []
    with open(os.path.join(a.src, "texts.jsonl"), encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["id"] >= N_PASSAGES:
                break
            assert d["id"] == len(passages)
            src = d["source"]
            passages.append({
                "id": d["id"],
                "text": d["text"],
                "source": src,
                "section": src.split("/")[0] if "/" in src else "top",
                "words": len(d["text"].split()),
            })
    assert len(passages) == len(base) == N_PASSAGES

    queries = [json.loads(l) for l in open(os.path.join(a.src, "queries.jsonl"), encoding="utf-8")]
    qvecs = read_fvecs(os.path.join(a.src, "query.fvecs"))
    chosen = []
    for q, (qrec, qv) in zip(queries, qvecs):
        scores = sorted(
            ((-sum(x * y for x, y in zip(qv, bv)), i) for i, (_, bv) in enumerate(base))
        )
        if -scores[0][0] < MIN_TOP1:
            continue
        chosen.append(({
            "id": len(chosen),
            "source_query_id": q["id"],
            "text": q["text"],
            "source": q["source"],
            "nearest": [i for _, i in scores[:10]],
        }, qrec))
        if len(chosen) == N_QUERIES:
            break
    assert len(chosen) == N_QUERIES

    def dump_jsonl(name, rows):
        with open(os.path.join(a.out, name), "w", encoding="utf-8", newline="\n") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")

    dump_jsonl("passages.jsonl", passages)
    dump_jsonl("queries.jsonl", [q for q, _ in chosen])
    with open(os.path.join(a.out, "passages.fvecs"), "wb") as f:
        for rec, _ in base:
            f.write(rec)
    with open(os.path.join(a.out, "queries.fvecs"), "wb") as f:
        for _, rec in chosen:
            f.write(rec)


if __name__ == "__main__":
    main()
