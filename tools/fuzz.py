"""The combined fuzz report: seeded mutations of COCO, YOLO, VOC and Dataloop files, and of service requests.

    python tools/fuzz.py [--format-cases 6000] [--serving-cases 5000] [--seed 0] [--json]

Runs `tools/fuzz_formats.run` (each case a mutated dataset imported into a temporary catalog) and then
`tools/fuzz_serving.run` (each case one raw request to a real service), prints both reports and a total line,
and exits 1 on any traceback, half-import, hang, HTTP 500 or good request left unanswered. The defaults make
11,000 cases (about 2 minutes on 2 cores)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fuzz_formats  # noqa: E402
import fuzz_serving  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--format-cases", type=int, default=6000)
    ap.add_argument("--serving-cases", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    fuzz_formats.logging_off()
    formats = fuzz_formats.run(a.format_cases, a.seed)
    serving = fuzz_serving.run(a.serving_cases, a.seed)
    bad_formats = formats["traceback"] + formats["half-import"] + formats["hang"]
    bad_serving = serving["http_500"] + serving["tracebacks_in_log"] + serving["liveness_failures"]
    total = formats["cases"] + serving["cases"]
    if a.json:
        print(json.dumps({"formats": formats, "serving": serving, "cases": total,
                          "failures": bad_formats + bad_serving}, indent=1))
    else:
        print(f"files: {formats['cases']} cases in {formats['seconds']} s (seed {a.seed}): {formats['clean']} clean "
              f"imports, {formats['refused']} refusals with the app's error, {formats['traceback']} tracebacks, "
              f"{formats['half-import']} half-imports, {formats['hang']} hangs")
        for fmt, c in formats["by_format"].items():
            print(f"  {fmt:9} " + ", ".join(f"{k} {v}" for k, v in c.items()))
        for r in formats["examples"]:
            print(f"  case {r['index']} ({r['format']}) {r['outcome']}: {r['detail']}")
        print(f"requests: {serving['cases']} cases in {serving['seconds']} s (seed {a.seed}): "
              f"statuses {serving['statuses']}")
        print(f"  HTTP 500s {serving['http_500']}, tracebacks in the service log {serving['tracebacks_in_log']}, "
              f"good request unanswered {serving['liveness_failures']}")
        print(f"total: {total} cases, {bad_formats} file failures, {bad_serving} service failures")
    return 1 if bad_formats or bad_serving else 0


if __name__ == "__main__":
    raise SystemExit(main())
