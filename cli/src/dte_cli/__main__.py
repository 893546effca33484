"""`python -m dte_cli` runs the `dte` command line."""

from dte_cli.app import main

main()
