"""`python -m bureau` is the `bureau` command."""

from bureau.cli import main

main()
