"""The insights engine: ranked recommendations with evidence and dollars.

evidence.py loads what the rules need from stored rows (aggregate queries, no AWS); rules/ are pure
functions of that evidence; engine.py stores their findings as Recommendation rows, keeping each one's
status across recomputations."""
