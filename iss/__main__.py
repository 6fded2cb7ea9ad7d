"""`python -m iss` is `jrun`."""

from iss.cli import main

main()
