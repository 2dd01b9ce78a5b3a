"""`python -m llmsize` runs the command-line tool."""

from llmsize.cli import main

main()
