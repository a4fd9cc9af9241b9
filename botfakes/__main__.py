import sys

from botfakes.cli import main

sys.exit(main())
