use toondb_query::{Database, Value, to_table};
fn main() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let stmts = [
        "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, b TEXT, c REAL)",
        "CREATE INDEX ta ON t(a)",
        "CREATE TABLE u(x INTEGER, y TEXT UNIQUE)",
        "INSERT INTO t(a,b,c) VALUES (1,'x',1.5),(2,'y',NULL),(NULL,'z',3),(2,'w',4)",
        "INSERT INTO u VALUES (1,'p'),(2,'q'),(5,'r')",
        "SELECT * FROM t",
        "EXPLAIN SELECT * FROM t WHERE a = 2",
        "SELECT * FROM t WHERE a = 2",
        "EXPLAIN SELECT * FROM t WHERE a > 1 AND a < 3",
        "EXPLAIN SELECT * FROM t WHERE id = 3",
        "EXPLAIN SELECT * FROM t WHERE id BETWEEN 2 AND 3",
        "EXPLAIN SELECT * FROM t JOIN u ON t.a = u.x",
        "SELECT t.b, u.y FROM t JOIN u ON t.a = u.x ORDER BY 1",
        "SELECT t.b, u.y FROM t LEFT JOIN u ON t.a = u.x ORDER BY 1",
        "SELECT a, count(*), sum(c), avg(c), group_concat(b) FROM t GROUP BY a ORDER BY a",
        "SELECT a FROM t ORDER BY a DESC",
        "SELECT a FROM t ORDER BY a NULLS LAST",
        "SELECT 1/0, 5%0, 9223372036854775807+1, -9223372036854775808/-1, 'a'||NULL, NULL=NULL, NULL IS NULL, typeof(1.0), CAST('12abc' AS INTEGER)",
        "SELECT b FROM t WHERE b LIKE 'X%' UNION SELECT y FROM u",
        "SELECT x FROM u EXCEPT SELECT a FROM t",
        "SELECT x FROM u INTERSECT SELECT a FROM t",
        "SELECT (SELECT max(x) FROM u WHERE u.x <= t.a) FROM t",
        "SELECT DISTINCT a FROM t",
        "SELECT a FROM t LIMIT 2 OFFSET 1",
        "SELECT coalesce(NULL, 2), ifnull(NULL,3), nullif(1,1), length('héllo'), lower('AB'), upper('ab'), substr('hello', 2, 3), round(2.567, 2), min(3,1,2), max(3,1,2), abs(-4)",
        "SELECT 1 IN (1,2), 3 IN (1,NULL), 3 NOT IN (1,2), 2 BETWEEN 1 AND 3, CASE WHEN 1 THEN 'a' ELSE 'b' END",
        "EXPLAIN UPDATE t SET a = 5 WHERE a = 2",
        "UPDATE t SET a = 5 WHERE a = 2",
        "SELECT * FROM t WHERE a = 5",
        "DELETE FROM t WHERE a = 5",
        "SELECT count(*) FROM t",
        "INSERT INTO u VALUES (9, 'p')",
        "SELEC 1",
        "SELECT * FROM nope",
        "SELECT nope FROM t",
        "SELECT * FROM t WHERE id = $1",
        "CREATE VIEW v AS SELECT a, b FROM t WHERE a IS NOT NULL",
        "SELECT * FROM v",
        "SELECT x, y FROM u WHERE EXISTS (SELECT 1 FROM t WHERE t.a = u.x)",
        "SELECT * FROM (SELECT x*2 AS d FROM u) AS q WHERE d > 3",
        "INSERT INTO t(a) SELECT x FROM u",
        "SELECT count(*), count(DISTINCT a), total(a), min(a), max(a) FROM t",
        "SELECT a, count(*) FROM t GROUP BY 1 HAVING count(*) > 1",
    ];
    for q in stmts {
        match s.execute(q) {
            Ok(r) => { println!("> {q}\n{}", to_table(&r)); }
            Err(e) => println!("> {q}\nERROR: {e}\n"),
        }
    }
    let r = s.execute_with("SELECT ?1 + ?2, $1, ?", &[Value::Integer(1), Value::Integer(2)]);
    println!("{r:?}");
}
