"""One module per kind of page; each has routes() -> list of Route (see annex_gen.web.application)."""
