"""Forms that create or change rows (the filter forms of list pages live beside their views)."""
