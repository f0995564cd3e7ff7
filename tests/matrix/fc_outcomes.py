"""Loaded with `-p fc_outcomes`: writes what a run collected and how each test
ended to the JSON file named by FC_OUTCOMES, for the plugin matrix to compare.
It implements no collection hook that changes items, so fastcollect's model
is unaffected."""

from __future__ import annotations

import json
import os
from typing import Dict, List

import pytest


class Recorder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.collected: List[str] = []
        self.outcomes: Dict[str, str] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = [item.nodeid for item in session.items]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Under xdist this runs in the controller for every worker's report.
        if report.when == "call" or report.outcome != "passed":
            self.outcomes.setdefault(report.nodeid, report.outcome)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        # The distributions of the plugins pytest loaded (its "plugins:" header line).
        dists = sorted({_normalized(dist.metadata["name"])
                        for _, dist in session.config.pluginmanager.list_plugin_distinfo()})
        with open(self.path, "w") as f:
            json.dump({"collected": self.collected, "outcomes": self.outcomes, "exit": int(exitstatus),
                       "plugins": dists}, f)


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-")


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get("FC_OUTCOMES")
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(Recorder(path), "fc_outcomes_recorder")
