"""Demo data and the large-network generator."""
