#!/usr/bin/env python3
"""Where the provider's purge fell against a measurement (bench/run.sh's scaling rows).

usage: bench/purge-window.py LABEL JSON_LOG STARTED_EPOCH_SECONDS

Reads the provider's JSON log for "purged expired rows" and prints one line per purge:
"purge LABEL rows=N elapsed_ms=M ended_s=E" where E is when the purge ended, in seconds after
the measurement (warm-up sign-ins included) started; a purge that ended after 0 overlapped it.
No line: nothing to purge, or the purge was still running when the provider was stopped.
"""
import datetime
import json
import sys

label, path, started = sys.argv[1], sys.argv[2], float(sys.argv[3])
found = False
for line in open(path, errors="replace"):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    # The provider's JSON lines have the event's fields at the top level; other layouts nest
    # them under "fields".
    fields = event.get("fields", event)
    if fields.get("message") != "purged expired rows":
        continue
    at = datetime.datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()
    print(f"purge {label} rows={fields.get('count')} elapsed_ms={fields.get('elapsed_ms')} "
          f"ended_s={at - started:.1f}")
    found = True
if not found:
    print(f"purge {label} none finished before the provider stopped")
