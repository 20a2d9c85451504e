"""Reports built from the results store (they only read it)."""
