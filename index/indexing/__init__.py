"""Vector-index generations: embedding the stored chunks and sentences, writing, opening and recovering FAISS files."""
