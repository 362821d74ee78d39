"""The signed-annex archive: what each customer signed, when, and whether it is still current.

`chain` makes and checks the hash-chained records (pure), `objects` stores files by SHA-256,
`index` is the interface to where records are kept (`sqlite_index`: a directory; `postgres_index`:
a PostgreSQL database), and `store` puts them together. `pdfinfo` reads what a PDF says about
itself (the embedded annex.json, its signatures), `intake` checks a file before it is added, and
`status` finds the annex in force and compares it with what the registry resolves.
"""
