"""citebot's index: loading, chunking, embedding, FAISS and BM25 search."""
