"""A web worker loads its URL patterns, views and templates before its first request and freezes
them out of the cycle collector's reach (`config/warmup.py`, `config/wsgi.py`)."""
import json
import os
import subprocess
import sys
from pathlib import Path

from django.template import engines

from config.warmup import warm

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import gc, json, sys
import config.wsgi
from django.template import engines
loader = engines["django"].engine.template_loaders[0]
modules = ("followup.dashboard_views", "followup.statistics", "scipy.stats", "drf_spectacular.views",
           "enrollment.views")
templates = ("followup/_dashboard_charts.html", "enrollment/screening_log.html", "bootstrap5/field.html")
print(json.dumps({"modules": sorted(name for name in modules if name in sys.modules),
                  "templates": sorted(name for name in templates if name in loader.get_template_cache),
                  "tracked": len(gc.get_objects()), "frozen": gc.get_freeze_count()}))
"""


def test_every_template_is_compiled_and_every_url_pattern_read():
    patterns, compiled = warm()
    assert patterns > 200 and compiled > 200
    cached = engines["django"].engine.template_loaders[0].get_template_cache
    assert "followup/study_dashboard.html" in cached and "admin/base.html" in cached


def test_a_web_worker_loads_before_its_first_request_and_freezes_what_it_loaded():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"}
    found = json.loads(subprocess.run([sys.executable, "-c", WORKER], cwd=ROOT, env=env, capture_output=True,
                                      text=True, check=True).stdout.strip().splitlines()[-1])
    assert found["modules"] == ["drf_spectacular.views", "enrollment.views", "followup.dashboard_views",
                                "followup.statistics", "scipy.stats"]
    assert found["templates"] == ["bootstrap5/field.html", "enrollment/screening_log.html",
                                  "followup/_dashboard_charts.html"]
    assert found["tracked"] < 1000 < found["frozen"]
