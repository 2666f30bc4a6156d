"""``make mutate``: mutation testing of the modules that decide outcomes, with cosmic-ray.

Usage: ``python scripts/mutate.py [TARGET ...]`` (all targets by default; ``--report`` only
rewrites tests/MUTATION.md from the results in scripts/mutation_results/, one JSON file per
target, kept in git so that a run of some targets rewrites the report with the others intact).

Why cosmic-ray and a scratch copy: many tests run the CLI (``sip-import``) and the gateway in
subprocesses, so the mutated code must be what a fresh interpreter imports. mutmut 3 mutates a
copy under ``mutants/`` behind trampolines that only the test process itself sees (and it does
not mutate module-level constants); cosmic-ray writes each mutant into the file itself, so every
process that imports it runs it. It writes into a copy of the checkout in .mutation/src (the
working files are never touched, even if a run is killed), and PYTHONPATH puts that copy ahead
of the editable install for every subprocess.

One mutant at a time (cosmic-ray's local distributor), at a lower CPU priority; each target runs
only the tests of its feature, and ``-x`` stops a run at the first test the mutant fails.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"
SRC = WORK / "src"
RESULTS = ROOT / "scripts" / "mutation_results"
REPORT = ROOT / "tests" / "MUTATION.md"


@dataclass(frozen=True)
class Target:
    path: str
    #: Pytest arguments: the tests of this module's feature.
    tests: tuple[str, ...]
    #: Top-level functions or classes to mutate; None mutates the whole module.
    symbols: tuple[str, ...] | None = None


# test_params.py's tests that call the domains directly; its other tests run a whole sheet
# through the pipeline per parameter (a minute per mutant here) for what test_domains.py pins.
_PARAMS_IN_PROCESS = (
    "test_normalized_value_passes_the_gateway_check",
    "test_vectorized_check_agrees_with_scalar_check",
    "test_values_are_quoted_as_typed_and_capped",
    "test_integer_limits_hold_at_their_boundaries",
    "test_text_lengths_hold_at_their_boundaries",
)

# test_params.py's tests that reach sheet.py's domain and scientific-notation checks.
_PARAMS_THROUGH_THE_SCHEMA = (
    "test_rejected_value_and_message",
    "test_scientific_notation_is_refused_in_every_id_column",
    "test_scientific_looking_text_is_fine_outside_id_columns",
    "test_every_secret_column_may_hold_the_mask",
)

TARGETS: dict[str, Target] = {
    "prune": Target("importer/gateways/prune.py", ("tests/test_sync.py", "-k", "prune")),
    # The plan row by row in process first (test_sync.py), then the gateway's list read as
    # columns: the state's lookups and the unchanged rows found column by column, held to the
    # row-by-row plan on a real gateway (test_plan.py); a sync end to end last.
    "plan": Target(
        "importer/gateways/plan.py",
        (
            *(
                f"tests/test_sync.py::test_plan_{t}"
                for t in (
                    "state_keys_names_lowercase_and_reads_wire_values_as_sheet_text",
                    "row_values_leave_empty_cells_out",
                    "sends_only_what_changed",
                    "of_a_name_in_another_case_renames_it",
                    "sends_a_changed_secret_and_keeps_a_masked_one",
                    "rejects_a_masked_secret_for_an_endpoint_not_there_yet",
                    "renames_by_old_name_or_object_id",
                    "of_an_object_id_whose_name_changes_only_in_case_is_a_rename",
                    "results_are_frozen",
                    "of_a_rename_already_done_or_from_nowhere",
                    "without_a_gateway_list_sends_every_cell",
                )
            ),
            "tests/test_plan.py::test_row_hashes_equal_values_hash_row_by_row",
            "tests/test_plan.py::test_state_read_as_columns_equals_the_state_given_as_dicts",
            "tests/test_plan.py::test_unchanged_rows_are_the_rows_the_row_plan_finds_unchanged",
            "tests/test_plan.py::test_column_state_equals_the_row_state",
            "tests/test_plan.py::test_column_plan_equals_the_row_plan_for_every_kind_of_difference",
            "tests/test_sync.py::test_a_changed_secret_alone_is_sent_and_stored",
        ),
    ),
    "journal": Target(
        "importer/gateways/journal.py",
        ("tests/test_sync.py", "tests/test_plan.py", "-k", "journal or row_hashes"),
    ),
    # The gateway's list read into the plan's columns, both readings (Arrow's and the walk):
    # the tests that read answers in process first, those with a gateway or the CLI last.
    "state": Target(
        "importer/gateways/state.py",
        tuple(
            f"tests/test_plan.py::test_{t}"
            for t in (
                "canonical_column_equals_from_wire_on_every_storable_value",
                "canonical_column_keeps_equal_numbers_of_other_types_apart",
                "list_answer_is_read_as_json_reads_it",
                "the_walk_fills_parameters_an_endpoint_lacks_across_its_chunks",
                "a_window_that_ends_in_white_space_far_into_the_answer",
                "a_number_cut_where_a_window_ends_far_into_the_answer",
                "arrow_reads_a_plain_list_answer_as_the_walk_does",
                "a_list_answer_arrow_cannot_read_exactly_is_walked",
                "a_value_no_domain_can_read_is_named_either_way",
                "bytes_arrow_refuses_are_left_to_the_walk",
                "list_answer_without_an_endpoint_array",
                "list_answer_that_is_not_a_json_object_is_refused",
                "column_state_equals_the_row_state",
                "list_columns_from_a_gateway_answering_otherwise",
                "column_plan_equals_the_row_plan_for_every_kind_of_difference",
            )
        ),
    ),
    "client": Target(
        "importer/gateways/client.py",
        ("tests/test_client.py", "-k", "breaker or limiter or backoff or retry_after"),
        ("CircuitBreaker", "RateLimiter", "_backoff", "_retry_after"),
    ),
    "report": Target(
        "importer/reports/report.py",
        ("tests/test_report.py", "-k", "secret or formula or neutral or hint or csv_lines"),
        (
            "neutralize",
            "_neutralize_frame",
            "_utf8",
            "_neutralize_column",
            "_is_secret_header",
            "mask_secrets",
        ),
    ),
    "load": Target(
        "importer/sheets/load.py",
        ("tests/test_load.py", "-k", "xlsx or zeros or cells or text or ods or contract"),
        ("_column_series", "_mixed_texts", "_cell_text", "_float_text", "_bool_text"),
    ),
    "schemas.text": Target(
        "schemas/text.py",
        (
            "tests/test_params.py::test_values_are_quoted_as_typed_and_capped",
            "tests/test_load.py::test_header_key",
            "tests/test_validate.py::test_column_letters_match_openpyxls",
            "tests/test_domains.py",
        ),
    ),
    "schemas.params": Target("schemas/params.py", ("tests/test_params.py", "tests/test_rules.py")),
    # The values' and the rules' tests, in process (no gateway), the quickest first (-x stops at
    # the first failure); a fixed hypothesis seed so that a rerun kills the same mutants.
    # test_validate.py first: it holds the column checks and the rules' frame predicates (what
    # sheets of over ONE_BY_ONE_ROWS rows take) to the per-value checks and row predicates.
    "schemas.sheet": Target(
        "schemas/sheet.py",
        (
            "tests/test_validate.py",
            "tests/test_rules.py",
            *(f"tests/test_params.py::{t}" for t in _PARAMS_THROUGH_THE_SCHEMA),
        ),
    ),
    "schemas.domains": Target(
        "schemas/domains.py",
        (
            "tests/test_domains.py",
            *(f"tests/test_params.py::{t}" for t in _PARAMS_IN_PROCESS),
            "tests/test_validate.py",
            "--hypothesis-seed=0",
        ),
    ),
}


def _copy_checkout() -> None:
    """The working files git knows about (tracked, or new and not ignored) into SRC."""
    if SRC.exists():
        shutil.rmtree(SRC)
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode()  # fmt: skip
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (SRC / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, SRC / name)


def _symbol_lines(path: Path, symbols: tuple[str, ...]) -> list[tuple[int, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ranges = []
    for node in tree.body:
        definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        if isinstance(node, definition) and node.name in symbols:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            ranges.append((start, node.end_lineno or node.lineno))
    found = len(ranges)
    if found != len(symbols):
        raise SystemExit(f"{path}: found {found} of the symbols {symbols}")
    return ranges


Position = tuple[int, int]


def _annotation_spans(path: Path) -> list[tuple[Position, Position]]:
    """(start, end) of every annotation. Under ``from __future__ import annotations`` they are
    never evaluated, so a mutant inside one cannot change behaviour; and there are many (each
    ``|`` of ``str | None`` becomes a dozen operators), each costing a full run of the tests."""
    spans = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.arg | ast.AnnAssign):
            found.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(node.returns)
        spans += [
            ((a.lineno, a.col_offset), (a.end_lineno or a.lineno, a.end_col_offset or 0))
            for a in found
            if a is not None
        ]
    return spans


def _skip_unwanted(session: Path, path: Path, symbols: tuple[str, ...] | None) -> None:
    """Mark as skipped the mutants outside ``symbols`` and those inside an annotation."""
    wanted = _symbol_lines(path, symbols) if symbols is not None else None
    spans = _annotation_spans(path)
    skipped: dict[str, list[str]] = {"outside the mutated symbols": [], "in an annotation": []}
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            (mutation,) = item.mutations
            start, end = tuple(mutation.start_pos), tuple(mutation.end_pos)
            if wanted is not None and not any(
                start[0] <= last and first <= end[0] for first, last in wanted
            ):
                skipped["outside the mutated symbols"].append(item.job_id)
            elif any(a <= start and end <= b for a, b in spans):
                skipped["in an annotation"].append(item.job_id)
        for why, job_ids in skipped.items():
            if job_ids:
                db.set_multiple_results(
                    job_ids, WorkResult(output=why, worker_outcome=WorkerOutcome.SKIPPED)
                )


def _test_command(target: Target) -> str:
    pytest = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    return shlex.join([*pytest, "-m", "not slow", *target.tests])


def _key(diff: str) -> str:
    """A survivor's name that outlives line numbers: its removed and added lines."""
    lines = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]
    return " => ".join(" ".join(line[1:].split()) for line in lines)


def run_target(name: str, target: Target) -> None:
    _copy_checkout()
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONDONTWRITEBYTECODE": "1"}
    command = _test_command(target)
    started = time.monotonic()
    baseline = subprocess.run(shlex.split(command), cwd=SRC, env=env, capture_output=True)
    baseline_s = time.monotonic() - started
    if baseline.returncode != 0:
        raise SystemExit(f"{name}: the tests fail without any mutant:\n{baseline.stdout.decode()}")
    timeout = round(baseline_s * 4 + 30)
    config = WORK / f"{name}.toml"
    session = WORK / f"{name}.sqlite"
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(target.path)}\n"
        f"timeout = {timeout}.0\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n"
        '[cosmic-ray.distributor]\nname = "local"\n',
        encoding="utf-8",
    )
    cosmic_ray = [str(Path(sys.executable).with_name("cosmic-ray"))]
    subprocess.run([*cosmic_ray, "init", "--force", str(config), str(session)], cwd=SRC, check=True)
    _skip_unwanted(session, SRC / target.path, target.symbols)
    print(f"{name}: baseline {baseline_s:.1f} s, mutant timeout {timeout} s", flush=True)
    subprocess.run([*cosmic_ray, "exec", str(config), str(session)], cwd=SRC, env=env, check=True)
    _save_results(name, target, session, time.monotonic() - started)
    print(f"{name}: done; {REPORT.relative_to(ROOT)} rewritten", flush=True)


def _save_results(name: str, target: Target, session: Path, seconds: float | None) -> None:
    killed = timeouts = incompetent = 0
    survivors: list[dict[str, str]] = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome in (WorkerOutcome.SKIPPED, WorkerOutcome.NO_TEST):
                continue
            if result.worker_outcome != WorkerOutcome.NORMAL:
                incompetent += 1
            elif result.test_outcome == TestOutcome.SURVIVED:
                mutation = item.mutations[0]
                survivors.append(
                    {
                        "line": str(mutation.start_pos[0]),
                        "operator": mutation.operator_name,
                        "key": _key(result.diff or ""),
                    }
                )
            else:
                killed += 1
                timeouts += result.output == "timeout"
        pending = sum(1 for _ in db.pending_work_items)
    RESULTS.mkdir(parents=True, exist_ok=True)
    survivors.sort(key=lambda s: int(s["line"]))
    data = {
        "module": target.path,
        "symbols": list(target.symbols or []),
        "tests": list(target.tests),
        "killed": killed,
        "timeouts": timeouts,
        "survived": len(survivors),
        "incompetent": incompetent,
        "pending": pending,
        "minutes": "?" if seconds is None else round(seconds / 60, 1),
        "survivors": survivors,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    write_report()


#: Issue 20's acceptance 1: its five hand-made mistakes, each applied alone to the code of
#: 0f28fc6 (e30fa7f's importer/) and `make test-fast` run whole; what failed, and pytest's last line.
_HAND_MADE = [
    "## Hand-made mistakes (acceptance 1)",
    "",
    "Issue 20's five mistakes, each applied alone to the code of 0f28fc6 (the importer of",
    "e30fa7f), then `make test-fast` run whole and the file restored. Each one fails it:",
    "",
    "1. `importer/sheets/load.py` `_batches`: the streamed CSV reader's `ConvertOptions` without",
    "   `column_types=...large_string()`. Failed: test_load.py's",
    "   `test_digits_only_columns_keep_leading_zeros_across_blocks_and_chunks[1-64]`, `[3-64]`,",
    "   `[7-128]`, `[50-1024]` and `test_a_30000_row_csv_keeps_leading_zeros_in_every_chunk[5000-None]`,",
    "   `[5000-27000]`. `6 failed, 1557 passed, 1 skipped, 25 deselected in 190.29s (0:03:10)`.",
    '2. `importer/reports/report.py`: `"passwd"` dropped from `_SECRET_HINTS`. Failed: test_report.py\'s',
    "   `test_every_credential_hint_masks_its_column_on_a_rejected_row[csv]`, `[xlsx]` and",
    "   `test_mask_secrets_masks_credential_columns_and_keeps_empty_cells`.",
    "   `3 failed, 1560 passed, 1 skipped, 25 deselected in 193.64s (0:03:13)`.",
    "3. `importer/gateways/client.py`: 503 dropped from `_RETRY_STATUS` (no longer retried). Failed:",
    "   `tests/test_import.py::test_a_gateway_answering_503_or_500_to_a_third_of_the_calls_loses_no_row[--busy-rate-busy]`.",
    "   `1 failed, 1562 passed, 1 skipped, 25 deselected in 194.90s (0:03:14)`.",
    "4. `importer/gateways/client.py` `CircuitBreaker.failure`: trips at `>` instead of `>=` the",
    "   threshold. Failed: test_client.py's",
    "   `test_the_breaker_trips_at_exactly_its_threshold_of_consecutive_failures[1]`, `[2]`, `[5]`,",
    "   `[300]`, `test_an_answer_resets_the_breaker_count`,",
    "   `test_a_call_stops_at_the_breaker_threshold_not_after_it` and",
    "   `test_breaker_threshold_from_the_config_file_bounds_a_real_import`.",
    "   `7 failed, 1556 passed, 1 skipped, 25 deselected in 200.08s (0:03:20)`.",
    "5. `importer/gateways/plan.py` `_diff` (where the row plan compares values): skips `secret`",
    '   (`if f != "secret" and ...`). Failed: test_plan.py\'s',
    "   `test_column_plan_equals_the_row_plan_for_every_kind_of_difference`,",
    "   `test_unchanged_rows_are_the_rows_the_row_plan_finds_unchanged[text]`, `[objects]` and",
    "   test_sync.py's `test_a_changed_secret_alone_is_sent_and_stored[secret]`,",
    "   `test_plan_sends_a_changed_secret_and_keeps_a_masked_one[secret]`.",
    "   `5 failed, 1558 passed, 1 skipped, 25 deselected in 194.45s (0:03:14)`.",
    "",
    "The five runs fail five disjoint sets of tests, each the mistake's own: no other test failed.",
]


def write_report() -> None:
    from mutation_notes import NOTES  # hand-written: what became of each survivor

    lines = [
        "# Mutation testing",
        "",
        "Written by `make mutate` (scripts/mutate.py: cosmic-ray, one mutant at a time, in a copy",
        "of the checkout that the tests' CLI and gateway subprocesses import too); what became of",
        "each survivor comes from scripts/mutation_notes.py. A mutant is killed when its module's",
        "tests fail (or time out) with it. Mutants inside annotations are not run (never",
        "evaluated: `from __future__ import annotations`). *Score in the run* is killed / run;",
        "*score now* also counts the survivors that tests added after the run kill (each checked",
        "by applying the mutant by hand); the rest are equivalent (they cannot change behaviour).",
        "",
        "Scope: in client.py the breaker, the rate cap and the retry decisions; the request path",
        "that applies them (`_Attempt`: the fleet's pacing, the session and its relogin bound) is",
        "not mutated (its tests run a gateway, 16 s a mutant; test_import.py pins the relogin",
        "bound exactly). In load.py the typing of workbook cells and of whole-number columns (the",
        "streamed CSV reader alone is 337 mutants, over half an hour on the shared machine; its one",
        "typing line, `column_types=...large_string()`, is pinned by test_load.py's leading-zeros",
        "tests). In report.py the neutralizing (per cell and column-wise) and the masking.",
        "`schemas/domains.py` and `schemas/sheet.py` run against the tests that call them in",
        "process, test_validate.py among them (it holds the column checks and the rules' frame",
        "predicates, which sheets of over 1,000 rows take, to the per-value checks); the rest of",
        "test_params.py puts one sheet through the whole pipeline per parameter, a minute per",
        "mutant on the shared machine. `importer/gateways/state.py` is not in issue 20's list: it",
        "reads the gateway's endpoints into the columns the plan compares, and was rewritten for",
        "issue 19 (Arrow's JSON reader beside the walk), so it runs too, against test_plan.py's",
        "reading tests.",
        "",
        "| module | mutated | tests | mutants | killed | score in run | killed since | "
        "equivalent | not explained | score now |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    results = {p.stem: json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))}
    for r in results.values():
        total = r["killed"] + r["survived"]
        notes = [NOTES.get(r["module"], {}).get(s["key"], "") for s in r["survivors"]]
        since = sum(n.startswith("killed since") for n in notes)
        equivalent = sum(n.startswith("equivalent") for n in notes)
        what = ", ".join(f"`{s}`" for s in r["symbols"]) or "all"
        tests = " ".join(shlex.quote(t) for t in r["tests"])
        lines.append(
            f"| `{r['module']}` | {what} | `{tests}` | {total} | {r['killed']} | "
            f"{_percent(r['killed'], total)} | {since} | {equivalent} | "
            f"{len(notes) - since - equivalent} | {_percent(r['killed'] + since, total)} |"
        )
    missing = [f"`{t.path}` ({name})" for name, t in TARGETS.items() if name not in results]
    if missing:
        lines += ["", "Not run yet: " + ", ".join(missing) + "."]
    lines += ["", *_HAND_MADE]
    for name, r in results.items():
        extra = [f"{r['minutes']} minutes"]
        if r["timeouts"]:
            extra.append(f"{r['timeouts']} of the killed by the time limit")
        if r["incompetent"]:
            extra.append(f"{r['incompetent']} could not be applied and are not counted")
        if r["pending"]:
            extra.append(f"{r['pending']} not run (the run was stopped)")
        # A remark says what the run was made on when the code has moved since.
        said = " ".join(filter(None, ["; ".join(extra) + ".", r.get("remark")]))
        lines += ["", f"## `{r['module']}` ({name})", "", said, ""]
        if not r["survivors"]:
            lines.append("No survivor.")
        for s in r["survivors"]:
            note = NOTES.get(r["module"], {}).get(s["key"], "**not explained yet**")
            lines.append(f"- line {s['line']}, `{s['key']}`: {note}")
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", choices=[[], *TARGETS], metavar="TARGET")
    parser.add_argument("--report", action="store_true", help="only rewrite tests/MUTATION.md")
    parser.add_argument(
        "--collect",
        action="store_true",
        help="count the results of the targets' sessions as they stand (a run that was stopped)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    if args.report:
        write_report()
        return
    if args.collect:
        for name in args.targets:
            _save_results(name, TARGETS[name], WORK / f"{name}.sqlite", None)
        return
    os.nice(10)  # the machine is shared: mutants wait for everything else
    for name in args.targets or list(TARGETS):
        run_target(name, TARGETS[name])


if __name__ == "__main__":
    main()
