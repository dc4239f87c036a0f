"""One module per report, each registering it (name, title, loader, builder) with
`reports.registry.register`; the registry imports them all. This is the one place a report's
pure builder meets its database loader."""
