"""Writing a benchmark's results: the JSON record and the Markdown table."""

import json
import pathlib


def write_outputs(summary, json_path, table, markdown_path):
    """Writes `summary` as JSON to `json_path` and `table` to `markdown_path` (either may be None)."""
    for path, text in ((json_path, json.dumps(summary, indent=2)), (markdown_path, table)):
        if path:
            pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
            pathlib.Path(path).write_text(text + "\n")
            print(f"wrote {path}")
