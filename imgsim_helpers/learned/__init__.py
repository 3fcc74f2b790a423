"""Learned representations: CNN and CLIP embeddings, their weights, the Siamese head."""
