"""Fail on any detect-secrets finding that is not audited as a false positive.

`detect-secrets scan --baseline FILE` refreshes FILE (keeping earlier audit labels); this
reads the refreshed copy. detect-secrets 1.5's `audit --report` has no failing mode, hence
this script.
"""

import json
import sys

results = json.load(open(sys.argv[1]))["results"]  # noqa: SIM115
unaudited = [
    f"{path}:{finding['line_number']} {finding['type']}"
    for path, findings in results.items()
    for finding in findings
    if finding.get("is_secret", True)
]
for line in unaudited:
    print(f"detect-secrets: unaudited finding {line}")
if unaudited:
    print("Remove the secret, or audit it as a false positive in .secrets.baseline.")
    sys.exit(1)
print(f"detect-secrets: no new secrets ({sum(map(len, results.values()))} audited false positives)")
