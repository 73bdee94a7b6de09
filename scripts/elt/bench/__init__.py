"""Benchmarks of the whole pipeline against hand-written SQL (`elt bench`)."""
