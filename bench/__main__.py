"""`python -m bench`: runs every benchmark in turn (train_export needs ../shared/data;
bundle_imports needs a bundle built by `python -m deploy.bundle`).

python -m bench [--real-model DIR]    # DIR is passed to bench.serving
"""

from __future__ import annotations

import argparse
import sys

from bench import bundle_imports, load, serving, train_export


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--real-model", help="trained model folder for bench.serving's (d)-(f)")
    args = parser.parse_args()
    codes = [train_export.main([])]
    codes.append(serving.main(["--real-model", args.real_model] if args.real_model else []))
    codes.append(load.main([]))
    codes.append(bundle_imports.main([]))
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
