"""The compiled (Rust) and pure-Python validators give the same verdicts on the same corpus.

What this covers: the two engines agree, verdict and error report, on schemas that the same
converter made. What it cannot see: a conversion bug (both engines get the same wrong schema and
agree on the wrong verdict). test_conversion.py checks the converter against hand-written verdicts,
and test_differential.py against openapi-core on the shipped schemas.
"""

from __future__ import annotations

import copy
import random

import pytest
from conftest import BUNDLED_SCHEMA
from helpers import project, project_detail

from synapse_dyn import load_spec
from synapse_dyn.validation import Validators, is_date, is_date_time, is_uuid

JOB = {"id": "00000000-0000-0000-0000-000000000001", "status": "RUNNING", "action": "run", "params": {},
       "progress_record": {}, "metrics_record": {}, "result": None, "is_active": True, "plugin_release_id": 1,
       "modified": "2026-01-01T00:00:00Z", "created": "2026-01-01T00:00:00+09:00", "completed": None}
ODD_VALUES = [None, "", "x", -1, 0, 3.5, True, [], {}, "2026-02-30T00:00:00Z", "2026-01-01", "2026-01-01T25:00:00Z",
              "00000000-0000-0000-0000-00000000000Z", "image", "data", "RUNNING"]


def _mutations(base: dict, rng: random.Random, count: int) -> list:
    corpus = [base]
    keys = list(base)
    for _ in range(count):
        item = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(keys)
            if rng.random() < 0.25:
                item.pop(key, None)
            else:
                item[key] = rng.choice(ODD_VALUES)
        if rng.random() < 0.2:
            item["undocumented"] = 1
        corpus.append(item)
    return corpus


@pytest.fixture(scope="module")
def engines():
    registry = load_spec(BUNDLED_SCHEMA, cache=False)
    return registry, Validators(registry, "rust"), Validators(registry, "python")


@pytest.mark.parametrize("operation,base", [
    ("projects.retrieve", project_detail(1)),
    ("jobs.retrieve", JOB),
    ("projects.list", {"next": None, "previous": None, "results": [project(1), project(2)]}),
])
def test_same_verdicts_on_a_mutation_corpus(engines, operation, base) -> None:
    registry, rust, python = engines
    op = registry.operation(operation)
    fast, slow = rust.response(op, 200), python.response(op, 200)
    rng = random.Random(operation)
    corpus = _mutations(base, rng, 300)
    if operation == "projects.list":
        corpus = [{**base, "results": [item]} for item in _mutations(project(1), rng, 300)]
    invalid = 0
    for instance in corpus:
        verdict = fast.is_valid(instance)
        assert verdict == slow.is_valid(instance), instance
        if not verdict:
            invalid += 1
            assert fast.errors(instance) == slow.errors(instance), instance
    assert corpus and fast.is_valid(corpus[0])
    assert 50 < invalid < len(corpus)


def test_request_bodies_agree(engines) -> None:
    registry, rust, python = engines
    op = registry.operation("projects.create")
    base = {"title": "t", "category": "image", "configuration": {}, "description": "d", "access_level": "private"}
    for instance in _mutations(base, random.Random(7), 200):
        assert rust.body(op).is_valid(instance) == python.body(op).is_valid(instance)


def test_format_checks() -> None:
    assert is_date_time("2026-01-15T09:00:00Z") and is_date_time("2026-01-15T09:00:00.123+09:00")
    assert not is_date_time("2026-02-30T09:00:00Z") and not is_date_time("2026-01-15 09:00")
    assert is_date("2024-02-29") and not is_date("2023-02-29")
    assert is_uuid("00000000-0000-0000-0000-000000000001") and not is_uuid("nope")
