import sys

from kentongan_testkit.bench.cli import main

sys.exit(main())
