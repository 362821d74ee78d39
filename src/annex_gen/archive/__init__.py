"""The signed-annex archive: what each customer signed, when, and whether it is still current.

`store` keeps the files and the hash-chained index, `pdfinfo` reads what a PDF says about
itself (the embedded annex.json, its signatures), `intake` checks a file before it is added,
and `status` finds the annex in force and compares it with what the registry resolves now.
"""
