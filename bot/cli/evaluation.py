"""`archivist eval`: the quality benchmarks, run from a source checkout.

The evaluation code is a development tool (``scripts/evaluation/``), not part of the installed package: it is
imported only when an ``eval`` command runs, from the checkout this package was installed from. The datasets
folder comes from ``--datasets`` or ``ARCHIVIST_DATASETS``; nothing is looked up relative to the current directory.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from bot.cli.commands import Context, cli, user_errors

CHECKOUT = Path(__file__).resolve().parents[2]
SPLITS = ("held-out", "quotes", "abstention", "all")  # scripts.evaluation.splits.SPLITS, kept in step by a test


def _dev_tools() -> None:
    """Make ``scripts.evaluation`` importable from the checkout, or say why it is not there."""
    if not (CHECKOUT / "scripts" / "evaluation" / "__init__.py").is_file():
        raise click.ClickException(
            "The evaluation tools live in the source checkout (scripts/evaluation/); run `archivist eval` from a "
            "clone of the repository installed with `pip install -e .`."
        )
    if str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))


def _datasets(value: Path | None) -> Path:
    if value is None:
        raise click.ClickException(
            "Say where the benchmark datasets are: --datasets DIR or ARCHIVIST_DATASETS (the folder holding "
            "multihop_rag/ and squad_v1.1_dev/)."
        )
    if not value.is_dir():
        raise click.ClickException(f"The datasets folder {value} does not exist.")
    return value


def _needed(path: Path) -> Path:
    if not path.exists():
        raise click.ClickException(f"The datasets folder lacks {path.name} (expected at {path}).")
    return path


def _metrics_out(metrics: object, as_json: bool) -> None:
    data = metrics.to_dict() if hasattr(metrics, "to_dict") else asdict(metrics)
    click.echo(json.dumps(data, ensure_ascii=False, indent=None if as_json else 2))


datasets_option = click.option(
    "--datasets",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ARCHIVIST_DATASETS",
    help="Folder holding multihop_rag/ and squad_v1.1_dev/ (default: $ARCHIVIST_DATASETS).",
)


@cli.group("eval")
def eval_group() -> None:
    """Run the quality benchmarks (MultiHop-RAG, SQuAD, answers) from a source checkout and print their metrics."""


def _eval_embedder(obj: Context):
    from index.embedding.factory import load_embedder

    settings = obj.settings
    return load_embedder(settings.embedder, settings.model_cache), settings.model_cache / "eval-vectors"


@eval_group.command("multihop-rag")
@datasets_option
@click.option("--limit", type=int, help="Score only the first N answerable questions.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON line.")
@click.option(
    "--postgres",
    is_flag=True,
    help="Score it a second time with the vectors searched in a throwaway PostgreSQL (pgvector), as on that backend.",
)
@click.pass_obj
def eval_multihop(obj: Context, datasets: Path | None, limit: int | None, as_json: bool, postgres: bool) -> None:
    """Hits@10, Hits@4 and MRR@10 on MultiHop-RAG (paper protocol, null queries excluded)."""
    dataset = _needed(_datasets(datasets) / "multihop_rag")
    _dev_tools()
    from scripts.evaluation.multihop import run_multihop

    embedder, workdir = _eval_embedder(obj)
    with user_errors():
        _metrics_out(run_multihop(dataset, embedder=embedder, workdir=workdir, limit=limit), as_json)
        if postgres:
            from index.store.database import Store
            from tests.postgres import PostgresServer

            server = PostgresServer().start()
            try:
                store = Store(server.new_database())
                metrics = run_multihop(dataset, embedder=embedder, workdir=workdir, limit=limit, store=store)
                store.close()
            finally:
                server.stop()
            _metrics_out(metrics, as_json)


@eval_group.command("squad")
@datasets_option
@click.option("--limit", type=int, help="Score only N questions.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON line.")
@click.pass_obj
def eval_squad(obj: Context, datasets: Path | None, limit: int | None, as_json: bool) -> None:
    """Share of SQuAD dev questions whose answer is inside the top-5 chunks of the right article."""
    dataset = _needed(_datasets(datasets) / "squad_v1.1_dev" / "dev-v1.1.json")
    _dev_tools()
    from scripts.evaluation.squad import run_squad

    embedder, workdir = _eval_embedder(obj)
    with user_errors():
        _metrics_out(run_squad(dataset, embedder=embedder, workdir=workdir, limit=limit), as_json)


@eval_group.command("answers")
@datasets_option
@click.option("--limit", type=int, help="Sample N questions per population (seeded); default all.")
@click.option(
    "--split",
    type=click.Choice(SPLITS),
    default="held-out",
    show_default=True,
    help="Ask the questions no model was fitted on (held-out), those the quote or abstention model was fitted on, or all.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON line.")
@click.pass_obj
def eval_answers(obj: Context, datasets: Path | None, limit: int | None, split: str, as_json: bool) -> None:
    """Quote fidelity, answer-in-quotes, abstention and latency of `ask` on SQuAD and MultiHop-RAG."""
    root = _datasets(datasets)
    squad, multihop = _needed(root / "squad_v1.1_dev" / "dev-v1.1.json"), _needed(root / "multihop_rag")
    _dev_tools()
    from index.answering.verifier import Verifier
    from scripts.evaluation.answers import MemoEncoder, run_answer_evals

    embedder, workdir = _eval_embedder(obj)
    memo = MemoEncoder(embedder)
    memo_file = MemoEncoder.cache_file(workdir, embedder.name)
    memo.load(memo_file)
    with user_errors():
        metrics = run_answer_evals(
            squad,
            multihop,
            embedder=embedder,
            limit=limit,
            cache_dir=workdir,
            memo=memo,
            split=split,
            verifier=Verifier(obj.settings.model_cache),
        )
    memo.save(memo_file)
    _metrics_out(metrics, as_json)
    if metrics.fidelity_errors:
        raise click.ClickException(f"{metrics.fidelity_errors} quotes were not verbatim at their offsets.")


@eval_group.command("transfer")
@datasets_option
@click.option("--no-paraphrases", is_flag=True, help="Skip the 150 paraphrase questions (faster).")
@click.option(
    "--details", type=click.Path(dir_okay=False, path_type=Path), help="Write one JSON line per question here."
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON line.")
@click.pass_obj
def eval_transfer(
    obj: Context, datasets: Path | None, no_paraphrases: bool, details: Path | None, as_json: bool
) -> None:
    """Answers on the BBC archive, which nothing was fitted on: gold in quotes, near-miss abstention, paraphrases.

    Builds the archive in --home (ingest and index the BBC sections; reused when already there) and asks the
    hand-written questions of scripts/evaluation/bbc_questions.jsonl through the engine, as a user would."""
    bbc = _needed(_datasets(datasets) / "bbc_news" / "bbc")
    _dev_tools()
    from scripts.evaluation.transfer import run_transfer

    with user_errors():
        result, outcomes = run_transfer(obj.writer, bbc, paraphrases=not no_paraphrases)
    if details is not None:
        with details.open("w", encoding="utf-8") as out:
            for o in outcomes:
                row = {
                    "id": o.question.id,
                    "kind": o.question.kind,
                    "type": o.question.answer_type,
                    "abstained": o.abstained,
                    "gold_in_right_article": o.gold_in_right_article,
                }
                out.write(json.dumps(row) + "\n")
    _metrics_out(result, as_json)
    if result.fidelity_errors:
        raise click.ClickException(f"{result.fidelity_errors} quotes were not verbatim at their offsets.")
