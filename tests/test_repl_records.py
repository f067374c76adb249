"""Records and pages as a REPL user sees them: nested attribute access, readable and masked reprs,
HTML tables, pandas export, dates, pickling. Classes come from the bundled schema's registry."""

from __future__ import annotations

import pickle
import pprint
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from synapse_dyn.records import Page, Record, RecordList, RecordTypes
from synapse_dyn.spec import load_spec

SECRET = "syn_SECRETVALUE12345678"


@pytest.fixture(scope="module")
def types() -> RecordTypes:
    return RecordTypes(load_spec(None))


def collection(types: RecordTypes, **extra: object) -> Record:
    cls = types.for_name("DataCollectionV2Detail")
    return cls({"id": 3, "name": "images", "file_specifications": [
        {"name": "image_1", "file_type": "image", "is_required": True},
        {"name": "meta", "file_type": "json", "is_required": False}], **extra})


def test_nested_objects_are_records_named_after_their_schema(types: RecordTypes) -> None:
    dc = collection(types)
    spec = dc.file_specifications[0]
    assert spec.name == "image_1" and type(spec).__name__ == "DataCollectionFileSpecificationV2"
    assert isinstance(dc.file_specifications, RecordList) and dc["file_specifications"][1].file_type == "json"
    assert dc.file_specifications is dc.file_specifications  # wrapped once, then kept
    assert dc.get("file_specifications")[0].is_required is True and dc.get("missing", 5) == 5
    summary = types.for_name("PermissionSummary")({"role": {"id": 1, "code": "leader", "display_name": "L"}})
    assert summary.role.code == "leader" and isinstance(summary.role, Record)


def test_free_form_objects_get_attribute_access_and_json_shape_is_kept(types: RecordTypes) -> None:
    import json

    project = types.for_name("ProjectV2Detail")({"id": 1, "configuration": {"labels": [{"name": "cat"}]}})
    assert project.configuration.labels[0].name == "cat"
    assert json.loads(json.dumps(project)) == {"id": 1, "configuration": {"labels": [{"name": "cat"}]}}
    assert type(project.to_dict()["configuration"]) is dict


def test_unknown_field_names_the_schema_and_its_fields(types: RecordTypes) -> None:
    dc = collection(types)
    with pytest.raises(AttributeError, match="DataCollectionFileSpecificationV2 has no field 'nme'; fields: .*name"):
        _ = dc.file_specifications[0].nme


def test_repr_is_readable_wrapped_and_not_cut_short(types: RecordTypes) -> None:
    dc = collection(types, description="a description longer than forty characters, kept whole")
    text = repr(dc)
    assert text.startswith("DataCollectionV2Detail(id=3, name='images',")
    assert "a description longer than forty characters, kept whole" in text
    assert "DataCollectionFileSpecificationV2(" in text and "name='image_1', file_type='image'" in text
    assert "\n" in text and all(len(line) <= 100 for line in text.splitlines())
    assert pprint.pformat(dc) == text and str(dc) == text
    short = types.for_name("PermissionSummary")({"permissions": ["view"]})
    assert repr(short) == "PermissionSummary(permissions=['view'])"


def test_secrets_are_masked_at_every_depth_in_every_form(types: RecordTypes) -> None:
    record = types.for_name("ProjectV2Detail")({
        "id": 1, "access_token": SECRET,
        "configuration": {"plugin": {"api_key": SECRET, "nested": [{"password": SECRET}]}},
    })
    page = Page([record], None, None)
    forms = [repr(record), str(record), pprint.pformat(record), record._repr_html_(), repr(page),
             page._repr_html_(), str(page.to_pandas(mask_secrets=True).to_dict())]
    for text in forms:
        assert SECRET not in text
    for text in forms:  # a password shows nothing of itself, at any depth; tokens keep their last four
        assert "5678" not in text.replace("***5678", "") and "'***'" in text.replace("&#x27;", "'")
    assert repr(record).count("***5678") == 2
    assert record.configuration.plugin.api_key == SECRET  # the value itself stays readable by key


def test_schema_declared_secret_fields_are_masked_in_nested_records() -> None:
    document = {
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
        "components": {"schemas": {
            "Outer": {"type": "object", "properties": {"inner": {"$ref": "#/components/schemas/Inner"}}},
            "Inner": {"type": "object", "properties": {"note": {"type": "string", "x-secret": True}}},
        }},
    }
    from synapse_dyn.registry import Registry

    types = RecordTypes(Registry(document))
    outer = types.for_name("Outer")({"inner": {"note": "classified-value-1234"}})
    assert "classified-value-1234" not in repr(outer) and "note='***1234'" in repr(outer)
    assert type(outer.inner).__name__ == "Inner"


def test_page_repr_shows_its_first_items(types: RecordTypes) -> None:
    cls = types.for_name("ProjectV2List")
    page = Page([cls({"id": i, "title": f"p{i}"}) for i in range(8)], "c2", None, count=8)
    text = repr(page)
    assert text.splitlines()[0] == "Page(8 results, next='c2', previous=None, count=8,"
    assert "[0] ProjectV2List(id=0, title='p0')" in text and "[2] ProjectV2List(id=2" in text
    assert "[3]" not in text and "… 5 more" in text
    assert repr(Page([], None, None)) == "Page(0 results, next=None, previous=None)"


def test_ipython_display_formatter_gives_pretty_text_and_html(types: RecordTypes) -> None:
    from IPython.core.formatters import DisplayFormatter

    cls = types.for_name("ProjectV2List")
    page = Page([cls({"id": i, "title": f"<b>p{i}</b>", "token": SECRET}) for i in range(12)], "c2", None)
    data, _ = DisplayFormatter().format(page)
    text, html = data["text/plain"], data["text/html"]
    assert "[9] ProjectV2List(id=9" in text and "[10]" not in text and "… 2 more" in text
    assert html.count("<tr>") == 13 and "<th>title</th>" in html and "&lt;b&gt;p3&lt;/b&gt;" in html
    assert "ProjectV2List" in html and SECRET not in html + text
    record_data, _ = DisplayFormatter().format(page[0])
    assert record_data["text/plain"].startswith("ProjectV2List(id=0")
    assert "<th>title</th><td>&lt;b&gt;p0&lt;/b&gt;</td>" in record_data["text/html"]


def test_long_pages_and_deep_values_are_bounded(types: RecordTypes) -> None:
    deep: dict = {"v": 1}
    for _ in range(10):
        deep = {"d": deep}
    record = Record({"deep": deep, "many": list(range(50)), "text": "x" * 1000})
    text = repr(record)
    assert "…" in text and "… 40 more" in text and len(text) < 2000


def test_to_pandas_one_column_per_field(types: RecordTypes) -> None:
    cls = types.for_name("ProjectV2List")
    page = Page([cls({"id": i, "title": f"p{i}", "token": SECRET}) for i in range(3)], None, None)
    frame = page.to_pandas()
    assert list(frame.columns) == ["id", "title", "token"] and frame["id"].tolist() == [0, 1, 2]
    assert SECRET not in frame.to_string()
    assert page.to_pandas(mask_secrets=False)["token"][0] == SECRET
    assert Page([], None, None).to_pandas().empty


def test_pandas_is_imported_only_by_to_pandas() -> None:
    code = ("import sys, synapse_dyn\n"
            "from synapse_dyn.records import Page, Record\n"
            "p = Page([Record(id=1)], None, None); repr(p); p._repr_html_()\n"
            "assert 'pandas' not in sys.modules and 'numpy' not in sys.modules, 'imported too early'\n"
            "p.to_pandas(); assert 'pandas' in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_parse_dates_turns_date_fields_into_datetime_and_date() -> None:
    document = {
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
        "components": {"schemas": {
            "Job": {"type": "object", "properties": {
                "created": {"type": "string", "format": "date-time"},
                "due": {"type": "string", "format": "date", "nullable": True},
                "note": {"type": "string"},
                "steps": {"type": "array", "items": {"$ref": "#/components/schemas/Step"}}}},
            "Step": {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}},
        }},
    }
    from synapse_dyn.registry import Registry

    registry = Registry(document)
    raw = {"created": "2026-01-15T09:00:00Z", "due": "2026-02-01", "note": "2026-01-01",
           "steps": [{"at": "2026-01-16T10:30:00+01:00"}]}
    parsed = RecordTypes(registry, parse_dates=True).for_name("Job")(raw)
    assert parsed["created"] == datetime(2026, 1, 15, 9, tzinfo=UTC) and parsed.due == date(2026, 2, 1)
    assert parsed.note == "2026-01-01" and isinstance(dict.__getitem__(parsed, "steps")[0]["at"], datetime)
    bad = RecordTypes(registry, parse_dates=True).for_name("Job")({"created": "not a date", "due": None})
    assert bad.created == "not a date" and bad.due is None
    plain = RecordTypes(registry).for_name("Job")(raw)
    assert plain.created == "2026-01-15T09:00:00Z"  # off by default: JSON-shaped


def test_records_pickle_and_pages_without_a_client_say_so(types: RecordTypes) -> None:
    dc = collection(types)
    _ = dc.file_specifications
    again = pickle.loads(pickle.dumps(dc))
    assert again == dc and type(again).__name__ == "DataCollectionV2Detail"
    import copy

    fresh = collection(types)
    for duplicate in (copy.copy(fresh), copy.deepcopy(fresh)):
        assert type(duplicate) is type(fresh)
        assert type(duplicate.file_specifications[0]).__name__ == "DataCollectionFileSpecificationV2"
    from synapse_dyn.errors import SynapseError

    with pytest.raises(SynapseError, match="not returned by a client"):
        Page([], "next", None).next_page()


def test_dir_and_key_completions_list_the_fields(types: RecordTypes) -> None:
    dc = collection(types)
    assert {"name", "file_specifications", "category"} <= set(dir(dc))
    assert dc._ipython_key_completions_() == ["id", "name", "file_specifications"]
