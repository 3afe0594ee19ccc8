"""The one place that stores rows as a record's prefetched relation.

A service that has just written (or read under a lock) a record's child rows returns the record
with them, as `prefetch_related` would have loaded them, so that showing it reads nothing more:
that is how saving an assessment with its labs stays within its query budget. Django offers no
public call for this; `prefetch_related` itself fills the same cache.
"""


def cache_rows(instance, relation: str, rows: list) -> None:
    """Keep `rows` as the prefetched content of `instance.<relation>` (what was just written or read
    under a lock), so that reading them again costs no query."""
    manager = getattr(instance, relation)
    # A many-to-many manager names its filter in `query_field_name`, a reverse foreign key in `field`.
    lookup = manager.query_field_name if hasattr(manager, "query_field_name") else manager.field.name
    queryset = manager.model.objects.filter(**{lookup: instance})
    queryset._result_cache, queryset._prefetch_done = list(rows), True
    instance._prefetched_objects_cache = {**getattr(instance, "_prefetched_objects_cache", {}), relation: queryset}
