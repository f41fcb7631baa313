"""The incident domain: plain data and rules, no I/O (the store and the intake drive it)."""
