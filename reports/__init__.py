"""Finance reports: each module one report, a pure function from pandas frames to frames
(`build`), fed by its loader in `db/report_loaders/` and written by `reports/render.py`. Money
stays in integer minor units until a renderer formats it. `reports/registry.py` joins them."""
