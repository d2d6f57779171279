"""``python -m contextree`` runs the command-line interface."""

from contextree.cli.app import main

main()
