"""The Temporal boundary: one module per subsystem (see docs/architecture.md)."""
