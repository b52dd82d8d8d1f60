"""Benchmarks: print figures, assert nothing about speed (``make bench``)."""
