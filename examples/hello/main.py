"""The smallest job: greets, and writes one output file."""
import os
import pathlib

out = pathlib.Path(os.environ["EDGEFLEET_OUTPUT_DIR"])
print("hello from", os.environ["EDGEFLEET_JOB_ID"])
(out / "greeting.txt").write_text("hello, edgefleet\n")
