import gc
import os

from django.core.wsgi import get_wsgi_application

from config.warmup import warm

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# The URL patterns with their views and modules, and the templates, loaded now (config/warmup.py).
warm()
# What loading made (modules, settings, URL patterns, templates) lives as long as the process: frozen
# out of the cycle collector's generations, a full collection during a request scans only what
# requests have made since, not every object of the process.
gc.collect()
gc.freeze()
