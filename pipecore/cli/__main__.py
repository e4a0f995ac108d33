"""``python -m pipecore.cli`` runs the ``pipecore`` command."""

import sys

from .main import main

sys.exit(main())
