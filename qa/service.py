"""The long-running side: one loaded index + embedder shared by the UI and the HTTP API.

Contract (the UI codes against this):
- `QAService(settings)` is cheap; the model and index load on first use, once per process.
- `ask(question, history=())` -> `qa.types.Answer` (same object `qa ask --json` prints).
- `health()` -> dict: {"ok": bool, "index": str, "documents": int, "passages": int,
  "model": str, "built_at": str, "error": str | None}.
- `documents()` -> list of dicts {"name", "title", "paragraphs", "passages", "encoding",
  "indexed_at"} for the documents in the serving index.
- `save_upload(name, data: bytes)` / `save_text(title, text)`: validate (decodable, non-empty,
  supported extension, size) and store under settings.data_dir; raise BadInputError otherwise,
  storing nothing. Return the stored file name.
- `remove_document(name)`: delete it from settings.data_dir (the index changes on rebuild).
- `rebuild(progress=None, replace_with=None)`: build a new index from settings.data_dir in the
  background-safe way (temp folder + rename), then swap it in; `ask` keeps answering from the
  old index until the swap. `progress(fraction: float, message: str)` is called along the way.
  On failure the old index keeps serving and files saved for this rebuild are rolled back.
- `ensure_index(progress=None)`: build from data_dir if there is no index yet.
"""
