"""Every query lives here, grouped by what it reads or writes."""
