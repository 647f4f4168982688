"""Shared machinery of the components: spec, input parsing, the run loop."""
