"""The testing room: a Readwise to sync against without an account or a network.

- `library`: the in-memory Readwise library (books, highlights, the export's answers);
  `export` (the query semantics) and `records` (the record shapes) are its parts.
- `fakereadwise`: `FakeReadwise`, the loopback HTTP server over a library (`wire`: its sockets);
  `faults`: the faults it can be told to answer with.
- `readwise_twin`: `ReadwiseTwin`, the Readwise client in memory over a library, no HTTP.
- `sample_library`: the books `syncd demo` serves.
"""
