"""The in-memory engine: the one fill and cost model, and `simulate` (no disk, no journal)."""
