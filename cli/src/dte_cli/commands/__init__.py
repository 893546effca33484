"""One module per dte verb, imported only when that verb runs."""
