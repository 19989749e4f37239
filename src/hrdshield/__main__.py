"""Allow `python -m hrdshield`."""

from hrdshield.cli import main

main()
