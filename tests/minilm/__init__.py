"""all-MiniLM-L6-v2 tests (a package, so that reference.py and test_reference.py do not
clash with other model test folders' modules of the same names)."""
