"""`python -m protolab`: the command line."""

from protolab.cli import main

main()
