import sys

from kentongan_testkit.bench.cli import main

# Guarded: the load-generator processes are spawned and import the parent's main module.
if __name__ == "__main__":
    sys.exit(main())
