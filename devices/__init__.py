"""Till devices: receipt printer and cash drawer over ESC/POS, run as a Temporal worker."""
