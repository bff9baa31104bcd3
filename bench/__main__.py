"""`python -m bench`: runs every benchmark in turn (train_export needs ../shared/data;
bundle_imports needs a bundle built by `python -m deploy.bundle`). The model train_export trains is
the one answer_quality reads and serving's (d)-(f) load as the real model. Not bench.scale (about
hours at its default scales) nor bench.cold_ab (compares two revisions): run those by name.

python -m bench [--real-model DIR]    # keep train_export's model in DIR
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench import answer_quality, bundle_imports, load, serving, train_export


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--real-model", type=Path, help="where to keep the model train_export trains")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="whoknows-bench-") as tmp:
        model = args.real_model or Path(tmp) / "real-model"
        codes = [train_export.main(["--out", str(model)])]
        trained = (model / "manifest.json").is_file()
        if trained:
            codes.append(answer_quality.main(["--model", str(model)]))
        codes.append(serving.main(["--real-model", str(model)] if trained else []))
        codes.append(load.main([]))
        codes.append(bundle_imports.main([]))
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
