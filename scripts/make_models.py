"""Re-fit every shipped model, in the order each depends on the one before (``make models``).

1. ``fit_quote_model.py`` -> ``index/answering/quote_model.json`` (the quote ranker and the answerability model);
2. ``fit_verifier.py`` -> ``index/answering/verifier.npz`` + ``verifier.about.json`` (its candidates are ordered
   by the quote ranker just written);
3. ``calibrate_abstention.py`` -> ``index/answering/abstention.json`` (it reads both models' verdicts).

Each artifact is written with an ``about`` block (datasets' SHA-256, sample sizes, embedder, commit, date and
command). The datasets are SQuAD v1.1 dev and MultiHop-RAG, read from ``--datasets`` (default
``$ARCHIVIST_DATASETS``, else ``../shared/datasets`` beside the checkout). On 2 cores the whole run takes hours,
not minutes: candidates for the quote models, then for the verifier (about 23 min), two verifier passes (about
22 min each) and the answer evaluation behind abstention; the shipped artifacts record when they were last made.

    .venv/bin/python scripts/make_models.py [--datasets DIR] [--cache DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("make_models")


def steps(datasets: Path, cache: Path) -> list[list[str]]:
    """The three fitting commands, in order."""
    data = ["--squad", str(datasets / "squad_v1.1_dev" / "dev-v1.1.json"), "--multihop", str(datasets / "multihop_rag")]
    common = [*data, "--cache", str(cache), "--write"]
    return [
        ["scripts/fit_quote_model.py", *common],
        ["scripts/fit_verifier.py", "--passes", "2", *common],
        ["scripts/calibrate_abstention.py", "--limit", "1500", *common],
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = os.environ.get("ARCHIVIST_DATASETS") or ROOT.parent / "shared" / "datasets"
    parser.add_argument("--datasets", type=Path, default=Path(default), help="folder holding SQuAD and MultiHop-RAG")
    parser.add_argument("--cache", type=Path, default=ROOT / ".archivist" / "eval-cache", help="exported models")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    needed = [args.datasets / "squad_v1.1_dev" / "dev-v1.1.json", args.datasets / "multihop_rag" / "corpus_train.json"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        log.error("The datasets are missing (%s); pass --datasets or set ARCHIVIST_DATASETS.", ", ".join(missing))
        return 1
    for command in steps(args.datasets.resolve(), args.cache.resolve()):
        started = time.perf_counter()
        log.info("running %s", " ".join(command))
        if subprocess.run([sys.executable, *command], cwd=ROOT).returncode != 0:
            log.error("%s failed; the models written before it are kept.", command[0])
            return 1
        log.info("%s done in %.0f min", command[0], (time.perf_counter() - started) / 60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
