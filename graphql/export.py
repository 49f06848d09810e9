"""Write the schema to graphql/schema.graphql, or check that the file matches the code.

python -m bureau.graphql.export           # write it
python -m bureau.graphql.export --check   # exit 1 if it differs (CI, and a test)
"""

from __future__ import annotations

import sys
from pathlib import Path

from .schema import build_schema

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


def schema_text() -> str:
    return build_schema().as_str() + "\n"


def main(argv: list[str]) -> int:
    text = schema_text()
    if "--check" in argv:
        if not SCHEMA_FILE.is_file() or SCHEMA_FILE.read_text() != text:
            print(f"{SCHEMA_FILE} differs from the schema in the code: run `python -m bureau.graphql.export`")
            return 1
        return 0
    SCHEMA_FILE.write_text(text)
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
