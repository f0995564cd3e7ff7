"""pytest plugin (-p fc_oracle) for verify_real.py: in one plain collection,
computes what every expression selects with pytest's own matchers and writes
the selections to $FC_ORACLE_OUT (JSON: {"k:EXPR": [ids], "m:EXPR": [ids], "all": [ids]})."""

from __future__ import annotations

import json
import os

import pytest
from _pytest.mark import KeywordMatcher
from _pytest.mark.expression import Expression

try:
    from _pytest.mark import MarkMatcher
except ImportError:  # pytest < 8.3
    MarkMatcher = None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items, config):
    out = os.environ["FC_ORACLE_OUT"]
    exprs = json.loads(os.environ["FC_ORACLE_EXPRS"])
    kw = [(item.nodeid, KeywordMatcher.from_item(item)) for item in items]
    result = {"all": [item.nodeid for item in items]}
    for e in exprs.get("k", []):
        compiled = Expression.compile(e)
        result["k:" + e] = [nid for nid, m in kw if compiled.evaluate(m)]
    for e in exprs.get("m", []):
        compiled = Expression.compile(e)
        if MarkMatcher is not None:
            result["m:" + e] = [i.nodeid for i in items if compiled.evaluate(MarkMatcher.from_markers(i.iter_markers()))]
        else:
            result["m:" + e] = [i.nodeid for i in items if compiled.evaluate(lambda n: n in {m.name for m in i.iter_markers()})]
    with open(out, "w") as f:
        json.dump(result, f)
    items[:] = []  # collection only: nothing to run
