"""Loaders turn the text of one format into a typed document; they never raise on bad input."""
