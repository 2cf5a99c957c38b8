"""Validates a CycloneDX JSON file against the 1.6 schema, strictly (unknown properties are
errors), with cyclonedx-python-lib's bundled schemas (offline). Prints `ok`, or the first error's
message and path, and exits 1."""
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

text = open(sys.argv[1], encoding="utf-8").read()
error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
if error is None:
    print("ok")
    sys.exit(0)
data = error.data
print(f"{data.message} at {'/'.join(str(p) for p in data.absolute_path)}")
sys.exit(1)
