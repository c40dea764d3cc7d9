"""Fails on purpose: the job ends FAILED with reason EXIT_NONZERO and exit code 3."""
import sys

print("something went wrong", file=sys.stderr)
sys.exit(3)
