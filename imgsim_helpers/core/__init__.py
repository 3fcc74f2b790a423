"""Ground floor: typed errors, the input-checking vocabulary, devices and threads."""
