"""``python -m finlite``: the ``finlite`` command, for an environment whose scripts are not on PATH."""

from finlite._console import main

if __name__ == "__main__":
    main()
