"""The language table (languages.tsv): one row per language, the only place languages are described."""
