"""Synthetic data and the timing harness behind ``make bench``."""
