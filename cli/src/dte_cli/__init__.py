"""dte command line: what happens around a job."""
