module example.invalid/toondb/bindings/go

go 1.19
