"""Composition roots: the only place that knows which mode runs and wires the parts together."""
