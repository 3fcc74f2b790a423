"""Speed comparisons against the libraries a user would otherwise pick (not timed tests)."""
