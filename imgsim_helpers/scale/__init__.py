"""Near duplicates at scale: FAISS indexes and the Ray Data embedding pipeline."""
