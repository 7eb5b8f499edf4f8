"""Scoring a table of (source, summary) rows into a JSON Lines or CSV file that resumes.

`score_file` writes one row per example (id, score, number of pairs, optionally the pairs) and
flushes after every batch. When the output already holds some ids it scores only the others,
so an interrupted run loses nothing and never writes a row twice.

Batches are cut by input position (rows ``[b * batch_size, (b + 1) * batch_size)``) and are
the unit of work: a batch with any row missing from the output is scored whole and only its
missing rows are written. Every example is thus scored in the same batch, with the same
padding, as in one uninterrupted single-process run: a resumed or multi-process run writes the
same numbers. With several processes (``torchrun``, ``accelerate launch``) the batches left are
dealt out in rounds, one per process, and the main process writes each round in input order.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..core.fingerprint import rows_digest, scorer_fingerprint
from ..core.protocols import ConsistencyScorer
from ..core.rows import check_rows
from ..core.tables import load_table, row_location

logger = logging.getLogger("quals_hf")

Row = dict[str, Any]


@dataclass
class Examples:
    """The (source, summary) examples to score, with unique ids, in input order."""

    ids: list[Any]
    sources: list[str]
    summaries: list[str]


def load_examples(
    data: str,
    split: str = "train",
    source_column: str = "document",
    summary_column: str = "summary",
    id_column: str | None = None,
) -> Examples:
    """The examples of a JSON Lines, CSV or Parquet file, or of a `datasets` name and split.

    Without ``id_column`` an example's id is its row number (from 0). Everything is checked
    before any scoring starts: a missing column, an empty or non-string text and a missing or
    repeated id raise a ValueError that names the column, or the file and line.
    """
    table = load_table(data, split)
    for column in filter(None, (id_column, source_column, summary_column)):
        if column not in table.column_names:
            columns = ", ".join(table.column_names)
            raise ValueError(f"{data} has no column {column!r} (columns: {columns})")
    texts = {column: list(table[column]) for column in (source_column, summary_column)}
    ids = list(table[id_column]) if id_column else list(range(len(table)))
    check_rows(ids, texts, lambda i: row_location(data, i), id_name=id_column or "id")
    return Examples(ids, texts[source_column], texts[summary_column])


def _complete_lines(path: Path) -> Iterator[str]:
    """The lines of ``path`` that end in a newline. Once all are read, a last line without one
    (a write cut short by a kill) is cut off the file, so that appending starts clean."""
    end = 0
    with path.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            end += len(line)
            yield line.decode("utf-8")
    if end < path.stat().st_size:
        logger.warning("%s: dropped an incomplete last line left by an interrupted run", path)
        os.truncate(path, end)


class OutputFile:
    """A JSON Lines or CSV file (by its extension) of scored rows, appended to as scores come.

    Fields: ``id``, ``score`` (NaN, i.e. no QA pair, is null in JSON and an empty field in
    CSV), ``num_pairs`` and, with ``details``, ``pairs``: each pair's question, answer, lp_x,
    lp_y and consistency (lp_x - lp_y), a list in JSON and a JSON string in CSV.
    """

    def __init__(self, path: str | Path, details: bool = False) -> None:
        self.path = Path(path)
        if self.path.suffix not in (".jsonl", ".csv"):
            raise ValueError(f"{path}: unsupported output type; use .jsonl or .csv")
        self.details = details
        self.fields = ["id", "score", "num_pairs", *(["pairs"] if details else [])]
        self.meta_path = self.path.with_name(self.path.name + ".meta.json")

    def resume(self, fingerprint: dict[str, Any] | None = None) -> dict[str, float]:
        """The scores already in the file, by id as text (creates missing parent folders).

        A last line left incomplete by an interrupted write is removed; any other malformed
        row, or rows written with other fields (``details``), raise a ValueError. With a
        ``fingerprint`` (what makes this run's scores: `run_fingerprint`), the one recorded
        beside the file (``OUTPUT.meta.json``) must be the same, else `ResumeMismatchError`
        names what differs; a new file records it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scores = {}
        if self.path.exists():
            for number, row in self._rows():
                if list(row) != self.fields:
                    raise self._mismatch(number, list(row))
                scores[str(row["id"])] = _as_score(row["score"])
        if fingerprint is not None:
            self._check_fingerprint(fingerprint, written=bool(scores))
        return scores

    def _check_fingerprint(self, fingerprint: dict[str, Any], written: bool) -> None:
        if not written:  # nothing to mix with: this run's record is the file's
            self.meta_path.write_text(json.dumps(fingerprint, indent=1) + "\n", encoding="utf-8")
            return
        if not self.meta_path.exists():
            raise ResumeMismatchError(
                f"{self.path} holds scores but no record of what made them "
                f"({self.meta_path.name} is missing), so they cannot be resumed safely; "
                "--restart (restart=True) scores everything again, or use another output"
            )
        stored = _flat(json.loads(self.meta_path.read_text(encoding="utf-8")))
        wanted = _flat(json.loads(json.dumps(fingerprint, default=str)))
        differ = [k for k in sorted(set(stored) | set(wanted)) if stored.get(k) != wanted.get(k)]
        if differ:
            first = differ[0]
            raise ResumeMismatchError(
                f"{self.path} was written with other settings ({', '.join(differ)}; e.g. "
                f"{first}: {stored.get(first)!r} then, {wanted.get(first)!r} now); "
                "--restart (restart=True) scores everything again, or use another output"
            )

    def restart(self) -> None:
        """Remove the file and its record: the next run starts from nothing."""
        self.path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)

    def _mismatch(self, number: int, fields: list[Any]) -> ValueError:
        return ValueError(
            f"{self.path}:{number}: holds the fields {fields} but this run writes "
            f"{self.fields}; use the same --details setting or another output file"
        )

    def _rows(self) -> Iterator[tuple[int, Row]]:
        """``(line number, row)`` of each row; the CSV header is checked first."""
        lines = _complete_lines(self.path)
        if self.path.suffix == ".csv":
            reader = csv.DictReader(lines)
            if reader.fieldnames not in (None, self.fields):
                raise self._mismatch(1, reader.fieldnames)
            for row in reader:
                yield reader.line_num, row
            return
        for number, line in enumerate(lines, 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{self.path}:{number}: malformed row: {err.msg}") from err
            yield number, row if isinstance(row, dict) else {}

    def write(self, rows: Sequence[Row]) -> None:
        """Append ``rows`` and flush them: a kill loses at most the batch being written."""
        with self.path.open("a", encoding="utf-8", newline="") as f:
            if self.path.suffix == ".jsonl":
                f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
                return
            writer = csv.writer(f, lineterminator="\n")
            if f.tell() == 0:
                writer.writerow(self.fields)
            for row in rows:
                writer.writerow([json.dumps(v) if k == "pairs" else v for k, v in row.items()])


@dataclass
class ScoreReport:
    """What `score_file` leaves: the score of every example (input order), how many of them
    were already in the output, and this run's slowest batch."""

    output: Path
    scores: list[float]
    resumed: int
    slowest_seconds: float = 0.0
    slowest_ids: list[Any] = field(default_factory=list)

    def __str__(self) -> str:
        n = len(self.scores)
        valid = [s for s in self.scores if not math.isnan(s)]
        lines = [
            f"{n} examples in {self.output}: {n - self.resumed} scored now, "
            f"{self.resumed} were already there"
        ]
        if valid:
            q1, q2, q3 = (
                torch.tensor(valid, dtype=torch.float64)
                .quantile(torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64))
                .tolist()
            )
            lines.append(
                f"QUALS mean {sum(valid) / len(valid):.4f}, quartiles {q1:.4f} / "
                f"{q2:.4f} / {q3:.4f} ({len(valid)} with a score)"
            )
        lines.append(
            f"no QA pair (score NaN): {n - len(valid)} of {n} ({(n - len(valid)) / n:.1%})"
        )
        if self.slowest_ids:
            ids = ", ".join(str(i) for i in self.slowest_ids[:8])
            more = f" and {len(self.slowest_ids) - 8} more" if len(self.slowest_ids) > 8 else ""
            lines.append(f"slowest batch: {self.slowest_seconds:.2f} s (ids {ids}{more})")
        return "\n".join(lines)


class ResumeMismatchError(ValueError):
    """An output file holds scores made otherwise than this run would make them."""


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level with dotted keys (``config.num_groups``)."""
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, inner in value.items():
        flat.update(_flat(inner, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def run_fingerprint(scorer: ConsistencyScorer, examples: Examples, batch_size: int) -> Row:
    """What makes a run's scores: the scorer (`scorer_fingerprint`: class, config, weights,
    package version), the batch size (batches are padded together) and the input rows."""
    return {
        **scorer_fingerprint(scorer),
        "batch_size": batch_size,
        "inputs": rows_digest(examples.ids, examples.sources, examples.summaries),
    }


def _as_score(value: float | str | None) -> float:
    """A score as written (null in JSON, empty in CSV: NaN) read back as a float."""
    return math.nan if value in (None, "") else float(value)


def _score_batch(
    scorer: ConsistencyScorer, examples: Examples, batch: range, details: bool, skip: set[str]
) -> tuple[range, list[Row], float]:
    """The batch, the output rows of its examples whose ids are not in ``skip``, the seconds."""
    start = time.perf_counter()
    out = scorer.score(
        [examples.sources[i] for i in batch],
        [examples.summaries[i] for i in batch],
        batch_size=len(batch),
        return_details=details,
        progress=False,
    )
    rows = []
    for k, i in enumerate(batch):
        if str(examples.ids[i]) in skip:
            continue
        score = out.scores[k]
        row = {
            "id": examples.ids[i],
            "score": None if math.isnan(score) else score,
            "num_pairs": out.counts[k],
        }
        if details:
            row["pairs"] = out.details(k)
        rows.append(row)
    return batch, rows, time.perf_counter() - start


def score_file(
    scorer: ConsistencyScorer,
    examples: Examples,
    output: OutputFile,
    batch_size: int | None = None,
    progress: bool = True,
    restart: bool = False,
) -> ScoreReport | None:
    """Score the examples whose ids ``output`` lacks and append them, on every process.

    Call it on all processes of a ``torchrun`` / ``accelerate launch`` run (or in a plain
    one); only the main process touches ``output``. ``batch_size`` defaults to the scorer's.
    A resume must be made the same way as the scores already there (`run_fingerprint`: the
    same scorer, config, weights, batch size and input rows), else `ResumeMismatchError`;
    ``restart`` removes the output first. Returns the `ScoreReport` on the main process and
    ``None`` on the others.
    """
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list, gather_object

    state = PartialState(cpu=scorer.model.device.type == "cpu")
    main = state.is_main_process
    batch_size = batch_size or scorer.batch_size
    failure, scores = None, {}
    if main:
        if restart:
            output.restart()
        try:
            scores = output.resume(run_fingerprint(scorer, examples, batch_size))
        except ValueError as error:  # raised on every process, not only the main one
            failure = error
    failure, done = broadcast_object_list([failure, set(scores)])
    if failure is not None:
        raise failure
    keys = [str(i) for i in examples.ids]
    if main and done - set(keys):
        logger.warning("%s holds %d ids not in the input", output.path, len(done - set(keys)))
    n = len(keys)
    todo = [
        batch
        for batch in (range(lo, min(lo + batch_size, n)) for lo in range(0, n, batch_size))
        if any(keys[i] not in done for i in batch)
    ]
    report = ScoreReport(output.path, [], resumed=sum(k in done for k in keys))
    with tqdm(
        total=n, initial=report.resumed, desc="QUALS", unit="ex", disable=not progress or not main
    ) as bar:
        for first in range(0, len(todo), state.num_processes):
            mine = todo[first + state.process_index : first + state.process_index + 1]
            scored = [_score_batch(scorer, examples, b, output.details, done) for b in mine]
            gathered = gather_object(scored)  # every process takes part; in input order
            if not main:
                continue
            for batch, rows, seconds in gathered:
                output.write(rows)
                scores.update((str(r["id"]), _as_score(r["score"])) for r in rows)
                if seconds > report.slowest_seconds:
                    report.slowest_seconds = seconds
                    report.slowest_ids = [examples.ids[i] for i in batch]
                bar.update(len(rows))
    if not main:
        return None
    report.scores = [scores[k] for k in keys]
    return report
