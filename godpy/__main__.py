"""``python -m godpy`` runs the CLI."""

from godpy.cli import main

main()
