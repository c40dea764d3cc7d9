"""Writes several output files, some in nested folders."""
import json
import os
import pathlib

out = pathlib.Path(os.environ["EDGEFLEET_OUTPUT_DIR"])
(out / "plots").mkdir(exist_ok=True)
(out / "plots" / "a.csv").write_text("x,y\n1,2\n")
(out / "plots" / "b.csv").write_text("x,y\n3,4\n")
(out / "metrics.json").write_text(json.dumps({"accuracy": 0.93}))
print("wrote 3 files")
