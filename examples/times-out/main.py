"""Runs longer than its limit: submit with --timeout 2 and the job ends TIMED_OUT."""
import time

print("sleeping", flush=True)
time.sleep(600)
