"""Finding passages: query understanding, BM25, vector search and their hybrid fusion."""
