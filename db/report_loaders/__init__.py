"""The loaders of the finance reports: one SQL query each (aggregated in PostgreSQL where that is
cheaper), returning pandas frames. `scope.py` turns a report's parameters into the stores, tills
and UTC bounds every loader filters on."""
