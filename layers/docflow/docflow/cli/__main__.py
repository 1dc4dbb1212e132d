"""`python -m docflow.cli`: the `docflow` command."""

import sys

from docflow.cli import main

sys.exit(main())
