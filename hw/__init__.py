"""Amaranth HDL of the ternary sparse engine and its board tops."""
