"""Imports a package that requirements.txt installs from a wheel URL (not from an index)."""
import os
import pathlib

import greet

msg = greet.hello("edgefleet")
print(msg)
pathlib.Path(os.environ["EDGEFLEET_OUTPUT_DIR"], "greeting.txt").write_text(msg + "\n")
